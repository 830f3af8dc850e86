"""The HTML pages (web.pages) and the static files (web.app), for people and browsers.

The pages' rows are in web/openapi/pages/, one module per kind of page; here they are put
together, in the order the document lists them, with the static files' row."""

from __future__ import annotations

from web.openapi.model import PUBLIC, Operation, Query, Reply
from web.openapi.pages.archive import ARCHIVE_PAGES
from web.openapi.pages.bookings import BOOKING_PAGES
from web.openapi.pages.consoles import CONSOLE_PAGES
from web.openapi.pages.site import SITE_PAGES
from web.openapi.pages.watch import WATCH_PAGES

PAGE_OPERATIONS: tuple[Operation, ...] = (
    *SITE_PAGES,
    *BOOKING_PAGES,
    *CONSOLE_PAGES,
    *ARCHIVE_PAGES,
    *WATCH_PAGES,
    Operation(
        "GET",
        "/static/{filename}",
        "staticFile",
        "Pages",
        "The pages' scripts and style sheets",
        PUBLIC,
        (Reply(200, "The file", "*/*", {"type": "string"}),),
        errors={404: "not_found"},
        query=(Query("v", "A content hash the pages add, so browsers may keep the file"),),
        page=True,
        stored=False,
    ),
)

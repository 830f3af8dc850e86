"""The archive's pages (web.pages.archive): the search and the player of a recording."""

from __future__ import annotations

from web.openapi.model import RECORDING, SIGNED_IN, Operation, Query
from web.openapi.pages.parts import TO_LOGIN, page

ARCHIVE_PAGES: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/archive",
        "archivePage",
        "Pages",
        "The archive: search by text, studio and dates",
        SIGNED_IN,
        (page(), TO_LOGIN),
        errors={422: "invalid: from or to"},
        query=(
            Query("q", "Words of the title"),
            Query("studio", "A studio"),
            Query("from", "YYYY-MM-DD"),
            Query("to", "YYYY-MM-DD"),
            Query("booking", "A booking id"),
        ),
        page=True,
    ),
    Operation(
        "GET",
        f"/archive/{RECORDING}",
        "playerPage",
        "Pages",
        "The player: the program, each studio's ISO at the same moment, downloads",
        SIGNED_IN,
        (page(), TO_LOGIN),
        errors={403: "forbidden", 404: "not_found"},
        page=True,
    ),
)

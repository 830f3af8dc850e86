"""The consoles of a show on air: a studio's behind its join link (web.pages.join) and master
control's monitor wall (web.pages.monitor)."""

from __future__ import annotations

from web.openapi.model import JOIN_LINK, SIGNED_IN, Operation, Query
from web.openapi.pages.parts import BOOKERS, TO_LOGIN, page

CONSOLE_PAGES: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/join/{booking_id}/{studio_id}",
        "joinPage",
        "Pages",
        "A studio's join link: when it opens, that it closed, or the studio console",
        JOIN_LINK,
        (page(200, "The console, or when the link opens"), page(410, "The link has closed")),
        errors={403: "invalid_link", 404: "not_found: no such booking"},
        query=(Query("relay", "`1`: TURN relays only (to test a firewall)", {"enum": ["1"]}),),
        page=True,
    ),
    Operation(
        "GET",
        "/monitor",
        "monitorPage",
        "Pages",
        "Master control's monitor wall",
        SIGNED_IN,
        (page(), TO_LOGIN),
        errors={403: "forbidden"},
        roles=BOOKERS,
        page=True,
    ),
)

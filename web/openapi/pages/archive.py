"""The archive's pages (web.pages.archive): the search and the player of a recording."""

from __future__ import annotations

from web.openapi.model import RECORDING, SIGNED_IN, Operation, Query
from web.openapi.pages.parts import TO_LOGIN, form, page, redirect

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
            Query("deleted", "Set after a deletion: the page says the recording was deleted"),
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
        query=(Query("ask", "`delete-recording`: the deletion's dialog shown open (admins)"),),
        page=True,
    ),
    Operation(
        "POST",
        f"/archive/{RECORDING}/delete",
        "deleteFromPlayer",
        "Pages",
        "An admin deletes the recording from its player page (its dialog's form)",
        SIGNED_IN,
        (redirect("the archive, saying it was deleted"), TO_LOGIN),
        errors={
            403: "forbidden (admins only), or csrf_failed",
            404: "not_found",
            409: "recording_in_progress",
        },
        body=form({}),
        roles=("admin",),
        page=True,
    ),
)

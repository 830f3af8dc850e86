"""The site's own pages (web.pages.site): the start, logging in and out, the language and
time zone a reader picks, and the partner studios."""

from __future__ import annotations

from schedules.accounts import LANGUAGES
from web.openapi.model import PUBLIC, SIGNED_IN, Operation, Query, Reply
from web.openapi.pages.parts import TO_LOGIN, form, page, redirect

SITE_PAGES: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/",
        "homePage",
        "Pages",
        "The start: to /bookings, or /login when not logged in",
        PUBLIC,
        (Reply(303, "Away", None, headers={"Location": "/bookings, or /login"}),),
        page=True,
    ),
    Operation(
        "GET",
        "/login",
        "loginPage",
        "Pages",
        "The login form",
        PUBLIC,
        (page(),),
        query=(Query("next", "A local path to go back to after logging in"),),
        page=True,
    ),
    Operation(
        "POST",
        "/login",
        "logIn",
        "Pages",
        "Log in: starts a session (HttpOnly, SameSite=Lax cookie tb_session; over HTTPS "
        "Secure and named __Host-tb_session)",
        PUBLIC,
        (
            Reply(
                303,
                "Logged in",
                None,
                headers={"Location": "`next`, else /bookings", "Set-Cookie": "tb_session"},
            ),
        ),
        errors={
            401: "the form again: wrong name or password",
            403: "csrf_failed",
            429: "the form again: too many failed logins (Retry-After)",
        },
        body=form(
            {
                "name": {"type": "string"},
                "password": {"type": "string", "format": "password"},
                "next": {"type": "string"},
            },
            ("name", "password"),
        ),
        page=True,
        description="The CSRF token of an anonymous visitor is bound to its tb_anon cookie, "
        "set by the login page.",
    ),
    Operation(
        "POST",
        "/logout",
        "logOut",
        "Pages",
        "End the session",
        PUBLIC,
        (redirect("/login"),),
        errors={403: "csrf_failed"},
        body=form({}),
        page=True,
    ),
    Operation(
        "POST",
        "/language",
        "setLanguage",
        "Pages",
        "Switch the interface language (remembered for the user and in a cookie)",
        PUBLIC,
        (redirect("`next`"),),
        errors={403: "csrf_failed", 422: "invalid: an unknown language"},
        body=form(
            {"language": {"enum": list(LANGUAGES)}, "next": {"type": "string"}}, ("language",)
        ),
        page=True,
    ),
    Operation(
        "GET",
        "/time-zone",
        "timeZonePage",
        "Pages",
        "The zone the user's pages show times in, to pick from every IANA zone",
        SIGNED_IN,
        (page(), TO_LOGIN),
        query=(Query("next", "The page to go back to after saving"),),
        page=True,
    ),
    Operation(
        "POST",
        "/time-zone",
        "setTimeZone",
        "Pages",
        "Remember the zone the user's pages show times in (empty: the default, an operator's "
        "studio's zone or the `timezone` setting)",
        SIGNED_IN,
        (redirect("`next`"), TO_LOGIN),
        errors={
            403: "csrf_failed, or forbidden: an API token has no zone of its own",
            422: "invalid: not an IANA zone",
        },
        body=form(
            {"time_zone": {"type": "string", "maxLength": 64}, "next": {"type": "string"}},
            ("time_zone",),
        ),
        page=True,
    ),
    Operation(
        "GET",
        "/studios",
        "studiosPage",
        "Pages",
        "The partner studios, their local time and their calendar feeds",
        SIGNED_IN,
        (page(), TO_LOGIN),
        page=True,
    ),
)

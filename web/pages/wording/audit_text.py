"""How the audit log reads: one whole sentence per action, so each language orders its words.

"elnur confirmed" must become "elnur təsdiqlədi" and "elnur onayladı", not the status label
"təsdiqləndi" ("was confirmed") after a name; so the log has its own msgids, with the actor (or
the studio, or the output) as a placeholder. What the bridge reports has no person behind it:
those lines name the studio ("AZERTAC joined"), not "bridge". The details follow the sentence
as people read them (web.pages.wording.audit_details); an action this table does not know
still reads as a sentence, "<actor>: <action>", never as a dump of its details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import jinja2
from babel.support import NullTranslations
from markupsafe import Markup

from schedules.model import AuditEvent, Studio
from web.pages.wording.audit_details import (
    CORNER_WORDS,
    LABELS,
    STREAM_WORDS,
    VALUE_WORDS,
    Reader,
    detail_lines,
    studio_name,
)

# action -> its sentence; "<action>/<variant>" for the variants `_phrase_key` picks.
AUDIT_PHRASES: dict[str, str] = {
    "created": "%(actor)s booked it",
    "edited": "%(actor)s edited it",
    "rescheduled": "%(actor)s rescheduled it",
    "confirmed": "%(actor)s confirmed",
    "declined": "%(actor)s declined",
    "cancelled": "%(actor)s cancelled it",
    "continued without": "%(actor)s went on without %(studio)s",
    "went live": "%(actor)s put it on air",
    "completed": "%(actor)s took it off air",
    "studio joined": "%(studio)s joined",
    "studio joined/again": "%(studio)s joined again on a new connection",
    "studio left": "%(studio)s left",
    "feed lost": "The feed of %(studio)s was lost",
    "feed restored": "The feed of %(studio)s is back",
    "switched the program": "%(actor)s switched the program",
    "changed the program sound": "%(actor)s changed the program sound",
    "changed the graphics": "%(actor)s changed the program graphics",
    "changed the lower thirds": "%(actor)s changed the lower-third texts",
    "recording started": "Recording started",
    "recording finished": "The program's recording is finished",
    "recording finished/studio": "The recording of %(studio)s is finished",
    "output added": "%(actor)s added the output %(output)s",
    "output removed": "%(actor)s removed the output %(output)s",
    "deleted a recording": "%(actor)s deleted a recording and its files",
    "output live": "The output %(output)s is live",
    "output dropped": "The output %(output)s dropped and is retrying",
    "output failed": "The output %(output)s never reached its destination",
    "output stopped": "The output %(output)s stopped",
    "called production": "%(studio)s called the producer",
    "answered a call": "%(actor)s answered the call of %(studio)s",
    "uploaded the logo": "%(actor)s uploaded the program logo",
    "removed the logo": "%(actor)s removed the program logo",
}
UNKNOWN_ACTION = "%(actor)s: %(action)s"
# Who did it, when it was not a person's login.
ACTOR_WORDS = {"bridge": "The server", "autopilot": "The autopilot"}
CONSOLE_ACTOR = "the console of %(studio)s"  # "<studio id> console" (web.live.direction)
A_STUDIO = "a studio"
# Every msgid of the audit log, for the catalogues (tests/i18n extracts these).
AUDIT_MESSAGES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *AUDIT_PHRASES.values(),
            UNKNOWN_ACTION,
            *ACTOR_WORDS.values(),
            CONSOLE_ACTOR,
            A_STUDIO,
            *LABELS,
            *VALUE_WORDS,
            *CORNER_WORDS.values(),
            *STREAM_WORDS.values(),
        )
    )
)


def _phrase_key(event: AuditEvent) -> str:
    """The action, or its variant: a studio joining again, a studio's own recording."""
    d = event.details
    if event.action == "studio joined" and d.get("replaced") is True:
        return "studio joined/again"
    if event.action == "recording finished" and d.get("studio"):
        return "recording finished/studio"
    return event.action


@dataclass(frozen=True)
class LogLine:
    """One line of the log as shown: the event, its sentence and its details."""

    event: AuditEvent
    sentence: Markup
    details: list[Markup]


def _actor(r: Reader, actor: str) -> str | Markup:
    if actor in ACTOR_WORDS:
        return r.word(ACTOR_WORDS[actor])
    if actor.endswith(" console"):
        return r.word(CONSOLE_ACTOR, studio=studio_name(r, actor.removesuffix(" console")))
    return actor


def output_names(events: Iterable[AuditEvent]) -> dict[str, str]:
    """Each output's name by its id, from the log's "output added" lines (the bridge's own
    lines name an output by its id only)."""
    names = {}
    for e in events:
        if e.action == "output added" and e.details.get("name"):
            names[str(e.details.get("output"))] = str(e.details["name"])
    return names


def audit_line(r: Reader, event: AuditEvent) -> LogLine:
    """`event` as a sentence in the reader's language, with its details."""
    key = _phrase_key(event)
    d = event.details
    phrase = AUDIT_PHRASES.get(key)
    output = d.get("output")
    values = {
        "actor": Markup("<strong>%s</strong>") % _actor(r, event.actor),
        "studio": Markup("<strong>%s</strong>")
        % (studio_name(r, d["studio"]) if d.get("studio") else r.word(A_STUDIO)),
        "output": Markup("<strong>%s</strong>")
        % (d.get("name") or r.outputs.get(str(output)) or output or "–"),
        "action": event.action.replace("_", " "),
    }
    said = []  # details the sentence says already
    if phrase and "%(studio)s" in phrase:
        said.append("studio")
    if phrase and "%(output)s" in phrase:
        said += ["output", "name"]
    sentence = r.word(phrase or UNKNOWN_ACTION, **values)
    return LogLine(event, sentence, detail_lines(r, event.action, d, said))


def reader(
    ctx: jinja2.runtime.Context,
    zone: str | None,
    studios: Mapping[str, Studio],
    outputs: Mapping[str, str],
) -> Reader:
    """The page's reader: its language and translations, and the page's own time filters in
    `zone` (None: the reader's own), so the log's times read like every other on the page."""
    t = ctx.get("translations")
    translations = t if isinstance(t, NullTranslations) else NullTranslations()
    env = ctx.environment
    lang = ctx.get("lang")

    def when(moment: datetime) -> str:
        return str(env.call_filter("when", moment, [zone], context=ctx))

    def clock(moment: datetime) -> str:
        return str(env.call_filter("clock", moment, [zone], context=ctx))

    def same_day(a: datetime, b: datetime) -> bool:
        return bool(
            env.call_filter("day", a, [zone], context=ctx)
            == env.call_filter("day", b, [zone], context=ctx)
        )

    return Reader(
        gettext=translations.gettext,
        lang=lang if isinstance(lang, str) else "en",
        when=when,
        clock=clock,
        same_day=same_day,
        studios=studios,
        outputs=outputs,
    )


@jinja2.pass_context
def audit_lines(
    ctx: jinja2.runtime.Context,
    events: list[AuditEvent],
    studios: Mapping[str, Studio],
    zone: str | None = None,
) -> list[LogLine]:
    """Template global: the booking's audit log as lines for people, oldest first."""
    r = reader(ctx, zone, studios, output_names(events))
    return [audit_line(r, e) for e in events]


@jinja2.pass_context
def audit_who(ctx: jinja2.runtime.Context, actor: str, studios: Mapping[str, Studio]) -> str:
    """Template global: who did something, as the log names them ("the console of AZERTAC",
    not "azertac console")."""
    return _actor(reader(ctx, None, studios, {}), actor)


def install(env: jinja2.Environment) -> None:
    """Give the page templates the audit log's globals."""
    env.globals["audit_lines"] = audit_lines
    env.globals["audit_who"] = audit_who

"""Translations as the pages use them: through the app's catalogs, in a template's `_()`, and
with the placeholders filled in."""

from __future__ import annotations

from message_catalog import LANGS, PLACEHOLDER, all_messages

from web.pages.i18n import Catalogs
from web.pages.templating import make_environment


def test_catalogs_translate_through_the_app() -> None:
    shipped = Catalogs()
    assert shipped.get("az").gettext("Bookings") == "Sifarişlər"
    assert shipped.get("tr").gettext("Bookings") == "Rezervasyonlar"
    assert shipped.get("az").gettext("is in the past") == "keçmişdədir"
    assert shipped.get("tr").gettext("confirmed") == "onaylandı"
    assert shipped.get("en").gettext("Bookings") == "Bookings"
    assert shipped.get("xx").gettext("Bookings") == "Bookings"


def test_templates_render_translated() -> None:
    """`_()` in a template, as the pages call it, gives the translation with values filled in."""
    page = make_environment().from_string(
        "{{ _('Bookings') }} | {{ _(status) }} | "
        "{{ _('Too many failed logins; try again in %(seconds)s seconds', seconds=30) }}"
    )
    shipped = Catalogs()
    assert page.render(translations=shipped.get("az"), status="live") == (
        "Sifarişlər | efirdə | "
        "Həddindən çox uğursuz giriş cəhdi; 30 saniyədən sonra yenidən cəhd edin"
    )
    assert page.render(translations=shipped.get("tr"), status="live").startswith(
        "Rezervasyonlar | yayında | "
    )


def test_placeholders_fill_in() -> None:
    """Every translated message with placeholders fills in like the pages fill it in."""
    for lang in LANGS:
        t = Catalogs().get(lang)
        for msgid in all_messages():
            names = PLACEHOLDER.findall(msgid)
            if names:
                text = t.gettext(msgid) % {n: "7" for n in names}
                assert "%(" not in text and "7" in text, (lang, msgid, text)

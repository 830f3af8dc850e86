"""The shipped catalogs, read once per test module for the tests of tests/i18n/."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from message_catalog import LANGS, read_catalog


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {lang: read_catalog(lang) for lang in LANGS}

"""Korean throughout: every message has a translation that keeps its placeholders."""

import re
from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _messages():
    with CATALOG.open("rb") as po:
        return [message for message in read_po(po, locale="ko") if message.id]


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated = [
        message.id
        for message in _messages()
        if message.fuzzy
        or not all(message.string if message.pluralizable else [message.string])
    ]
    assert untranslated == []


def test_translations_keep_every_placeholder():
    for message in _messages():
        ids = message.id if message.pluralizable else [message.id]
        strings = message.string if message.pluralizable else [message.string]
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, message.id


def test_the_compiled_catalog_is_current():
    compiled = CATALOG.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= CATALOG.stat().st_mtime, (
        "locale/ko/LC_MESSAGES/django.mo is missing or older than django.po: "
        "run `make setup`"
    )

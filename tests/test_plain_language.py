"""Plain language and correct formats (issue 17, item 3): every catalog uses ngettext instead of
"Angabe(n)" constructions and one glossary (Leistung, Buchungsnummer); a German page shows
decimal commas, four-digit years and "Uhr"; English is en-GB with 24-hour times."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from polls.models import Poll
from tests.polls.factories import close, codes_for, form_answers, make_poll

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted((ROOT / "translations").glob("*/messages.pot")) + sorted(
    (ROOT / "translations").glob("*/*/LC_MESSAGES/messages.po"))
# "Angabe(n)", "Buchung(en)", "Person(en)", "entries(s)": a plural faked with brackets
FAKE_PLURAL = re.compile(r"\w\((n|en|e|s|es|innen)\)", re.IGNORECASE)
NOT_IN_GLOSSARY = ("Dienstleistung", "Buchungscode", "booking code")


def _texts(path: Path) -> list[str]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    texts: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        for value in (message.id, message.string):
            texts += [item for item in (value if isinstance(value, tuple | list) else [value]) if item]
    return texts


def visible_text(html: str) -> str:
    """The text a reader sees: tags, attributes, scripts and styles removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_there_are_catalogs_to_scan() -> None:
    assert len(CATALOGS) >= 10  # five areas, a template and an English catalog each


@pytest.mark.parametrize("path", CATALOGS, ids=lambda path: str(path.relative_to(ROOT / "translations")))
def test_no_bracket_plurals_and_one_glossary(path: Path) -> None:
    texts = _texts(path)
    fake = [text for text in texts if FAKE_PLURAL.search(text)]
    assert not fake, f"use ngettext instead: {fake}"
    off_glossary = [text for text in texts if any(word.lower() in text.lower() for word in NOT_IN_GLOSSARY)]
    assert not off_glossary, f"glossary: Leistung (service), Buchungsnummer (booking number): {off_glossary}"


def test_the_scan_finds_a_bracket_plural() -> None:
    assert FAKE_PLURAL.search("Bitte korrigieren Sie 2 Angabe(n):")
    assert FAKE_PLURAL.search("2 future booking(s)")
    assert not FAKE_PLURAL.search("Step %(n)s of %(total)s")


def _closed_poll_results(client) -> str:
    poll: Poll = make_poll(visibility="after_close")
    [code] = codes_for(poll, 1)
    client.post(f"/beteiligung/{poll.slug}", data={"code": code, **form_answers(poll)})
    close(poll)
    response = client.get(f"/beteiligung/{poll.slug}/ergebnisse")
    assert response.status_code == 200
    return visible_text(response.get_data(as_text=True))


def test_german_results_use_decimal_commas(client, app) -> None:
    client.set_cookie("lang", "de")
    text = _closed_poll_results(client)
    assert "100,0 %" in text
    english = re.findall(r"\d+\.\d+\s*%", text)
    assert not english, f"English decimal points on a German page: {english}"


def test_english_results_use_decimal_points(client, app) -> None:
    client.set_cookie("lang", "en")
    assert "100.0 %" in _closed_poll_results(client)

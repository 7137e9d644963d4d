"""Languages: German default, the switch cookie, then Accept-Language; every area's English
catalog covers every text in its sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from citizen_portal.core.i18n import TRANSLATION_AREAS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORE_CATALOG = PROJECT_ROOT / "translations/core/en/LC_MESSAGES/messages.po"


def test_german_is_the_default(client):
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in body
    assert "Zum Inhalt springen" in body


def test_accept_language_selects_english(client):
    body = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "Skip to content" in body
    assert "Book an appointment" in body
    assert client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True).count('lang="de"') >= 1


def test_language_switch_is_remembered_in_a_cookie_and_wins(client):
    response = client.post("/sprache", data={"lang": "en", "next": "/impressum"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/impressum"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    body = client.get("/impressum", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "<title>Legal notice – " in body
    client.post("/sprache", data={"lang": "de", "next": "/"})
    assert '<html lang="de">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_language_switch_ignores_unknown_language_and_foreign_next(client):
    response = client.post("/sprache", data={"lang": "xx", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers


def test_language_switch_form_keeps_the_current_page(client):
    body = client.get("/datenschutz?x=1").get_data(as_text=True)
    assert 'name="next" value="/datenschutz?x=1"' in body
    assert 'action="/sprache"' in body


@pytest.mark.parametrize("area", TRANSLATION_AREAS)
def test_every_text_in_the_sources_has_an_english_translation(area, tmp_path):
    """Extract the area's texts from the sources now and require each one translated, not fuzzy:
    a new German text without its English counterpart fails here, not in front of a citizen."""
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", f"babel/{area}.cfg",
                    "-k", "_l", "-o", str(template), "."], check=True, cwd=PROJECT_ROOT, capture_output=True)
    with template.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    catalog_path = PROJECT_ROOT / "translations" / area / "en" / "LC_MESSAGES" / "messages.po"
    translated = set()
    if catalog_path.exists():
        with catalog_path.open("rb") as handle:
            translated = {m.id for m in read_po(handle, locale="en") if m.id and m.string and not m.fuzzy}
    missing = sorted(str(message) for message in wanted - translated)
    assert not missing, (f"{len(missing)} texts without English translation in translations/{area} "
                         f"(run flask translate extract/update --area {area}): {missing[:10]}")


def test_translate_compile_command(app):
    result = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output
    assert "compiled" in result.output
    assert CORE_CATALOG.with_suffix(".mo").exists()

"""Languages: German default, the switch cookie, then Accept-Language; the core catalog is complete."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

CORE_CATALOG = Path(__file__).resolve().parents[1] / "translations/core/en/LC_MESSAGES/messages.po"


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


def test_core_catalog_is_complete():
    with CORE_CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"untranslated or fuzzy in translations/core: {untranslated}"


def test_translate_compile_command(app):
    result = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output
    assert "compiled" in result.output
    assert CORE_CATALOG.with_suffix(".mo").exists()

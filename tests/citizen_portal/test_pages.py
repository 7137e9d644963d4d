"""Start page, layout (skip link, landmarks, title pattern, navigation) and legal pages."""

from __future__ import annotations

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import SiteSettings
from citizen_portal.core.navigation import register_nav_item
from tests.factories import login, make_user


def test_layout_landmarks_skip_link_and_title(client):
    body = client.get("/").get_data(as_text=True)
    assert body.index('class="skip-link') < body.index("<header")
    assert 'href="#main"' in body and '<main id="main"' in body
    assert '<nav class="site-nav" aria-label="Hauptnavigation">' in body
    assert "<footer" in body
    assert "<title>Startseite – Stadt Musterhausen</title>" in body
    assert 'name="viewport"' in body


def test_start_page_links_to_the_modules(client):
    body = client.get("/").get_data(as_text=True)
    for path in ("/termine", "/beteiligung", "/arbeitsplaetze", "/mitarbeitende/heute"):
        assert f'href="{path}"' in body


def test_footer_links_to_the_three_legal_pages(client):
    body = client.get("/").get_data(as_text=True)
    for path in ("/impressum", "/datenschutz", "/barrierefreiheit"):
        assert f'href="{path}"' in body
        assert client.get(path).status_code == 200


def test_site_name_from_site_settings(app, client):
    db.session.add(SiteSettings(name="Stadt Beispielburg", settings={}))
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "<title>Startseite – Stadt Beispielburg</title>" in body


def test_legal_texts_default_and_overridden_by_the_city(app, client):
    default = client.get("/impressum").get_data(as_text=True)
    assert "<title>Impressum – " in default
    assert "§ 5 DDG" in default
    db.session.add(SiteSettings(name="Stadt Beispielburg", settings={"legal": {
        "impressum": {"de": "Stadt Beispielburg\n\nRathausplatz 1 <b>", "en": "City of Beispielburg"},
    }}))
    db.session.commit()
    german = client.get("/impressum").get_data(as_text=True)
    assert '<p class="kern-body">Rathausplatz 1 &lt;b&gt;</p>' in german
    assert "§ 5 DDG" not in german
    english = client.get("/impressum", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "City of Beispielburg" in english
    assert "<title>Legal notice – " in english


def test_navigation_from_registered_items_respects_roles(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "navigation", {})
    register_nav_item(app, "polls", _l("Beteiligung"), "/beteiligung", order=30)
    register_nav_item(app, "desks", _l("Arbeitsplätze und Räume buchen"), "/arbeitsplaetze", roles=("staff",))
    anonymous = client.get("/beteiligung/abc").get_data(as_text=True)
    nav = anonymous[anonymous.index("site-nav"):anonymous.index("</nav>")]
    assert 'href="/beteiligung" aria-current="page"' in nav
    assert "/arbeitsplaetze" not in nav
    make_user("mmueller", roles="staff")
    login(client, "mmueller")
    body = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    nav = body[body.index("site-nav"):body.index("</nav>")]
    assert 'href="/arbeitsplaetze"' in nav and "Book desks and rooms" in nav
    assert nav.index("/arbeitsplaetze") > nav.index("/beteiligung")


def test_pages_work_without_javascript(client):
    body = client.get("/").get_data(as_text=True)
    assert "<script" not in body

"""Issue 9, items 7 and 8 through the Flask client: the admin form publishes and unpublishes a poll
(submitted as a browser submits it: the hidden ``published=""`` first, then the checkbox), each
role finds its pages in the main navigation, and the receipt after voting survives a reload in the
same session only (post/redirect/get)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest

from citizen_portal.core.extensions import db
from polls import views as poll_views
from polls.models import Poll
from tests.factories import make_user
from tests.polls.factories import codes_for, form_answers, login_as, make_poll


class FormFields(HTMLParser):
    """The fields one ``<form>`` (found by its ``action``) submits, in document order, as a browser
    sends them: text, hidden and date inputs, checked checkboxes, selected options, textareas."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []
        self._select: str | None = None
        self._textarea: str | None = None
        self._first_option: tuple[str, str] | None = None
        self._selected = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._selected = a.get("name"), None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = (self._select, a.get("value", ""))
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((self._textarea, ""))

    def handle_data(self, data):
        if self.inside and self._textarea:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected and self._first_option:
                self.fields.append(self._first_option)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    parser = FormFields(action)
    parser.feed(html)
    assert parser.fields, f"no form with action {action}"
    return parser.fields


def with_checkbox(fields: list[tuple[str, str]], name: str, checked: bool) -> list[tuple[str, str]]:
    """``fields`` as the browser sends them after the user (un)ticks checkbox ``name`` (value "1"),
    which comes right after its hidden field of the same name."""
    result = [(key, value) for key, value in fields if not (key == name and value == "1")]
    if checked:
        position = max(i for i, (key, _value) in enumerate(result) if key == name) + 1
        result.insert(position, (name, "1"))
    return result


def submit(client, action: str, fields: list[tuple[str, str]]):
    from werkzeug.datastructures import MultiDict

    return client.post(action, data=MultiDict(fields))


def test_the_admin_form_publishes_and_unpublishes(client, poll_admin):
    poll = make_poll(published=False)
    action = f"/verwaltung/beteiligung/{poll.id}"
    page = client.get(action).get_data(as_text=True)
    fields = form_fields(page, action)
    assert ("published", "0") in fields and ("published", "1") not in fields  # a draft: the box is unticked
    response = submit(client, action, with_checkbox(fields, "published", True))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Poll, poll.id).published is True
    assert client.get(f"/beteiligung/{poll.slug}").status_code == 200

    fields = form_fields(client.get(action).get_data(as_text=True), action)
    assert ("published", "1") in fields
    assert submit(client, action, with_checkbox(fields, "published", False)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Poll, poll.id).published is False
    assert client.get(f"/beteiligung/{poll.slug}").status_code == 404


def test_a_new_poll_from_the_form_is_published_when_ticked_and_the_box_survives_an_error(client, poll_admin):
    action = "/verwaltung/beteiligung/neu"
    fields = form_fields(client.get(action).get_data(as_text=True), action)
    assert ("published", "1") in fields  # ticked by default
    typed = {"slug": "spielplatz", "title_de": "Spielplatz", "opens_at": "2020-01-01T08:00",
             "closes_at": "2099-01-01T08:00"}
    filled = [(key, typed.get(key, value)) for key, value in fields]
    broken = [(key, "" if key == "title_de" else value) for key, value in filled]
    rerendered = submit(client, action, broken)
    assert rerendered.status_code == 400
    assert ("published", "1") in form_fields(rerendered.get_data(as_text=True), action)
    assert submit(client, action, filled).status_code == 303
    assert db.session.query(Poll).filter_by(slug="spielplatz").one().published is True


NAVIGATION = {
    # role: labels the main navigation must show, labels it must not show
    "staff": ({"Heute", "Arbeitsplätze"}, {"Beteiligung verwalten", "Terminvergabe verwalten",
                                           "Arbeitsplätze verwalten"}),
    "service_admin": ({"Terminvergabe verwalten"}, {"Beteiligung verwalten", "Arbeitsplätze verwalten"}),
    "poll_admin": ({"Beteiligung verwalten"}, {"Terminvergabe verwalten", "Arbeitsplätze verwalten", "Heute"}),
    "admin": ({"Heute", "Arbeitsplätze", "Terminvergabe verwalten", "Beteiligung verwalten",
               "Arbeitsplätze verwalten"}, set()),
}


def main_navigation(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.S).group(0)
    return {unescape(label): href for href, label in re.findall(r'<a class="kern-link" href="([^"]+)"[^>]*>([^<]+)</a>',
                                                                   nav)}


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_each_role_finds_its_pages_in_the_navigation(app, client, role):
    from tests.staff_calendar.spaces.factories import make_site

    make_site()
    login_as(client, make_user(f"nav-{role}", roles=role))
    links = main_navigation(client.get("/").get_data(as_text=True))
    shown, hidden = NAVIGATION[role]
    assert shown <= set(links), links
    assert not hidden & set(links), links
    if role == "poll_admin":
        assert links["Beteiligung verwalten"] == "/verwaltung/beteiligung/"
    for label, href in links.items():
        assert client.get(href).status_code == 200, (role, label, href)


def test_one_entry_is_current_on_a_nested_admin_page(app, client):
    from tests.staff_calendar.spaces.factories import make_site

    make_site()
    login_as(client, make_user("nav-admin", roles="admin"))
    nav = re.search(r'<nav class="site-nav".*?</nav>', client.get("/arbeitsplaetze/verwaltung").get_data(
        as_text=True), re.S).group(0)
    assert re.findall(r'href="([^"]+)" aria-current="page"', nav) == ["/arbeitsplaetze/verwaltung"]


# --- the receipt after voting --------------------------------------------------------------------

def _receipt_code(html: str) -> str:
    return re.search(r'id="receipt-code">([^<]+)<', html).group(1)


def vote(client, poll, code):
    return client.post(f"/beteiligung/{poll.slug}", data={"code": code, **form_answers(poll)})


def test_receipt_survives_a_reload_and_is_shown_to_no_other_session(app, client):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    response = vote(client, poll, code)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.endswith(f"/beteiligung/{poll.slug}/ihre-quittung")
    first = client.get(location)
    receipt = _receipt_code(first.get_data(as_text=True))
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert receipt.replace("-", "") not in location
    again = client.get(location)  # reload
    assert _receipt_code(again.get_data(as_text=True)) == receipt
    download = client.get(f"/beteiligung/{poll.slug}/ihre-quittung.txt")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == f'attachment; filename="quittung-{poll.slug}.txt"'
    assert receipt in download.get_data(as_text=True)
    assert f"/beteiligung/{poll.slug}/quittung" in download.get_data(as_text=True)

    with app.test_client() as stranger:  # another browser: a fresh session
        other = stranger.get(location)
        assert other.status_code == 404 and receipt not in other.get_data(as_text=True)
        assert "Keine Quittung in diesem Browser" in other.get_data(as_text=True)
        assert stranger.get(f"/beteiligung/{poll.slug}/ihre-quittung.txt").status_code == 404
    # the receipt belongs to its poll only
    assert client.get(f"/beteiligung/{make_poll().slug}/ihre-quittung").status_code == 404


def test_receipt_expires_and_can_be_removed(app, client, monkeypatch):
    poll = make_poll()
    [first_code, second_code] = codes_for(poll, 2)
    location = vote(client, poll, first_code).headers["Location"]
    moment = poll_views.now()
    monkeypatch.setattr(poll_views, "now", lambda: moment + poll_views.RECEIPT_LIFETIME - timedelta(seconds=1))
    assert client.get(location).status_code == 200
    monkeypatch.setattr(poll_views, "now", lambda: moment + poll_views.RECEIPT_LIFETIME + timedelta(seconds=1))
    assert client.get(location).status_code == 404
    monkeypatch.undo()
    location = vote(client, poll, second_code).headers["Location"]
    assert client.get(location).status_code == 200
    assert client.post(f"/beteiligung/{poll.slug}/ihre-quittung/entfernen").status_code == 303
    assert client.get(location).status_code == 404


def test_receipt_page_in_english(app, client):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    client.set_cookie("lang", "en")
    html = client.get(vote(client, poll, code).headers["Location"]).get_data(as_text=True)
    assert "Thank you, your vote has been received." in html and "Save as a text file" in html
    assert "Copy the code" in html and "Print" in html

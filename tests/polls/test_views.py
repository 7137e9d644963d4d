"""The HTML pages: voting flow, error summary, receipt, results, admin pages, exports."""

from __future__ import annotations

import io
import re

from odf.opendocument import load
from odf.table import TableRow

from citizen_portal.core.extensions import db
from polls.models import Poll
from polls.services import ballots
from tests.factories import make_user
from tests.polls.factories import answers, close, codes_for, count_ballots, form_answers, login_as, make_poll


def _receipt(html: str) -> str:
    return re.search(r'id="receipt-code">([^<]+)<', html).group(1)


def test_voting_with_a_code_shows_a_receipt_and_refuses_the_second_use(client, app):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    page = client.get(f"/beteiligung/{poll.slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<fieldset" in html and "<legend" in html and "So schützen wir Ihre Stimme" in html
    response = client.post(f"/beteiligung/{poll.slug}", data={"code": code, **form_answers(poll, multiple=(0, 1))})
    assert response.status_code == 303
    receipt = _receipt(client.get(response.headers["Location"]).get_data(as_text=True))
    check = client.post(f"/beteiligung/{poll.slug}/quittung", data={"receipt": receipt})
    assert "ist eingegangen" in check.get_data(as_text=True)  # pending until its batch is written
    count_ballots(poll)
    check = client.post(f"/beteiligung/{poll.slug}/quittung", data={"receipt": receipt})
    assert "wurde gezählt" in check.get_data(as_text=True)
    unknown = client.post(f"/beteiligung/{poll.slug}/quittung", data={"receipt": "AAAA-BBBB-CCCC-DDDD"})
    assert "keine Stimme gefunden" in unknown.get_data(as_text=True)
    again = client.post(f"/beteiligung/{poll.slug}", data={"code": code, **form_answers(poll)})
    assert again.status_code == 409
    assert "schon abgestimmt" in again.get_data(as_text=True)


def test_errors_are_summarised_at_the_top_with_links_to_the_fields(client, app):
    poll = make_poll()
    single, multiple, *_ = poll.questions
    data = {f"q{multiple.id}": [str(o.id) for o in multiple.options]}
    response = client.post(f"/beteiligung/{poll.slug}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.index('id="error-summary"') < html.index("<h1")
    assert 'href="#field-code"' in html and f'href="#field-q{single.id}"' in html
    assert f'href="#field-q{multiple.id}"' in html and f'id="field-q{multiple.id}"' in html
    assert 'aria-invalid="true"' in html or "kern-fieldset--error" in html
    # the choices are kept
    assert html.count("checked") >= 3


def test_english_page(client, app):
    poll = make_poll()
    client.set_cookie("lang", "en")
    html = client.get(f"/beteiligung/{poll.slug}").get_data(as_text=True)
    assert '<html lang="en">' in html and "Test poll" in html and "Which colour?" in html
    assert "How we protect your vote" in html and "Cast vote" in html


def test_results_after_close_only(client, app):
    poll = make_poll(visibility="after_close")
    [code] = codes_for(poll, 1)
    client.post(f"/beteiligung/{poll.slug}", data={"code": code, **form_answers(poll)})
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 404
    close(poll)
    response = client.get(f"/beteiligung/{poll.slug}/ergebnisse")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in html and 'role="img"' in html and "<table" in html and "100,0 %" in html
    csv_body = client.get(f"/beteiligung/{poll.slug}/ergebnisse.csv").get_data(as_text=True)
    assert "Welche Farbe?;single;Rot;1;100.0" in csv_body
    ods = client.get(f"/beteiligung/{poll.slug}/ergebnisse.ods")
    assert ods.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    rows = load(io.BytesIO(ods.data)).spreadsheet.getElementsByType(TableRow)
    assert len(rows) > 5


def test_admins_only_results_are_hidden_from_citizens(client, app):
    poll = make_poll(visibility="admins")
    close(poll)
    assert client.get(f"/beteiligung/{poll.slug}/ergebnisse").status_code == 404
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 404


def test_bad_input_never_500(client, app):
    poll = make_poll()
    for url, data in [
        (f"/beteiligung/{poll.slug}", {"code": "x" * 500, "q1": "abc", "q99999": "1"}),
        (f"/beteiligung/{poll.slug}", {"code": "", f"q{poll.questions[2].id}": "99999999999999999999"}),
        (f"/beteiligung/{poll.slug}/link", {"email": "no"}),
        ("/beteiligung/ideen/neu", {"title": "", "email": "@"}),
        ("/beteiligung/ideen/bestaetigen/" + "x" * 300, {}),
    ]:
        response = client.post(url, data=data)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    assert client.post(f"/beteiligung/{poll.slug}/quittung", data={"receipt": "x" * 100}).status_code == 200
    assert client.get("/beteiligung/gibt-es-nicht").status_code == 404
    assert client.get("/beteiligung/gibt-es-nicht/ergebnisse.ods").status_code == 404


def test_unpublished_poll_is_not_public(client, app):
    poll = make_poll(published=False)
    assert client.get(f"/beteiligung/{poll.slug}").status_code == 404
    assert client.get(f"/api/v1/polls/{poll.id}").status_code == 404


def test_email_mode_html_flow(client, app, smtp_sink):
    poll = make_poll(mode="email")
    response = client.post(f"/beteiligung/{poll.slug}/link", data={"email": "carla@example.org"})
    assert response.status_code == 200
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "carla@example.org"
    link = re.search(r"http\S+\?t=(\S+)", message.get_body(("plain",)).get_content())
    token = link.group(1)
    page = client.get(f"/beteiligung/{poll.slug}?t={token}").get_data(as_text=True)
    assert 'name="t"' in page
    voted = client.post(f"/beteiligung/{poll.slug}", data={"t": token, **form_answers(poll)})
    assert voted.status_code == 303
    client.post(f"/beteiligung/{poll.slug}/link", data={"email": "CARLA@example.org"})
    import time

    time.sleep(0.3)
    assert len(smtp_sink.messages) == 1  # no second link for an address that voted


def test_admin_pages_need_the_role(client, app):
    assert client.get("/verwaltung/beteiligung/").status_code in (302, 401)
    login_as(client, make_user("sachbearbeiter", roles="staff"))
    assert client.get("/verwaltung/beteiligung/").status_code == 403


def test_admin_creates_a_poll_adds_questions_and_prints_codes(client, poll_admin):
    response = client.post("/verwaltung/beteiligung/neu", data={
        "slug": "radweg", "title_de": "Radweg", "title_en": "Cycle lane", "mode": "codes",
        "results_visibility": "after_close", "opens_at": "2020-01-01T08:00", "closes_at": "2099-01-01T08:00",
        "published": "1"})
    assert response.status_code == 303
    poll = db.session.query(Poll).filter_by(slug="radweg").one()
    bad = client.post(f"/verwaltung/beteiligung/{poll.id}/fragen", data={"kind": "single", "text_de": "Wo?"})
    assert bad.status_code == 400 and "error-summary" in bad.get_data(as_text=True)
    client.post(f"/verwaltung/beteiligung/{poll.id}/fragen", data={
        "kind": "single", "text_de": "Wo?", "options_de": "Nord\nSüd", "options_en": "North\nSouth"})
    client.post(f"/verwaltung/beteiligung/{poll.id}/fragen", data={"kind": "rating", "text_de": "Wie wichtig?"})
    assert [q.kind for q in db.session.get(Poll, poll.id).questions] == ["single", "rating"]
    assert client.post(f"/verwaltung/beteiligung/{poll.id}/codes", data={"count": "3"}).status_code == 303
    detail = client.get(f"/verwaltung/beteiligung/{poll.id}").get_data(as_text=True)
    batch_url = re.search(r'href="(/verwaltung/beteiligung/\d+/codes/\d+)\.csv"', detail).group(1)
    csv_body = client.get(batch_url + ".csv").get_data(as_text=True)
    codes = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", csv_body)
    assert len(codes) == 3
    sheet = client.get(batch_url + "/druck").get_data(as_text=True)
    assert all(code in sheet for code in codes)
    assert re.search(r"css/poll-codes\.[0-9a-f]{12}\.css", sheet)  # fingerprinted; one letter per page:
    assert "page-break-after" in client.get("/static/css/poll-codes.css").get_data(as_text=True)
    refreshed = db.session.get(Poll, poll.id)
    ballots.cast_ballot(poll.id, {str(refreshed.questions[1].id): 5}, code=codes[0])
    frozen = client.post(f"/verwaltung/beteiligung/{poll.id}/fragen", data={"kind": "rating", "text_de": "Neu?"})
    assert frozen.status_code == 409
    assert client.get(f"/verwaltung/beteiligung/{poll.id}/ergebnisse").status_code == 200
    assert client.get(f"/verwaltung/beteiligung/{poll.id}/ergebnisse.ods").status_code == 200
    client.post(batch_url + "/versiegeln")
    assert client.get(batch_url + ".csv").status_code == 409


def test_admin_moderates_free_text(client, poll_admin):
    poll = make_poll(mode="open")
    ballots.cast_ballot(poll.id, answers(poll, text="Bitte mehr Bäume"))
    count_ballots(poll)
    page = client.get(f"/verwaltung/beteiligung/{poll.id}/antworten").get_data(as_text=True)
    answer_url = re.search(r'action="(/verwaltung/beteiligung/\d+/antworten/[0-9a-f]+)"', page).group(1)
    client.post(answer_url, data={"decision": "published"})
    html = client.get(f"/beteiligung/{poll.slug}/ergebnisse").get_data(as_text=True)
    assert "Bitte mehr Bäume" in html

"""Issue 18, items 9 to 11: the attacks of the security review, each through the page and the API,
on SQLite and on PostgreSQL (``PORTAL_TEST_DB``).

18.9: Unicode digits, dates at the range limits, ids of 2**63 and more, JSON nested 1000 deep and
extreme dates on staff pages answer 400/404 with a message, never 500.
18.10: NUL bytes and other control characters are refused in every text field (line breaks and tabs
only in multi-line fields) before they reach the database (PostgreSQL refuses NUL in text: a 500).
18.11: single-line fields refuse CR/LF; a mail built from an old title with a line break keeps one
subject line, and the moderator's change is kept and its mail delivered.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from citizen_portal.booking.models import Appointment
from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import MAX_ID, id_or_none
from citizen_portal.site.schema import parse_site_file
from citizen_portal.site.services import apply_site
from polls.models import Suggestion, TextAnswer
from staff_calendar.spaces.models import RoomBooking, SpaceBlock
from tests.factories import log_in_session, make_user
from tests.polls.factories import answers, form_answers, make_poll

DEMO = Path(__file__).resolve().parents[1] / "demo" / "site.toml"
CONTROL = "Der Text enthält unzulässige Steuerzeichen."
LINE_BREAK = "Bitte ohne Zeilenumbruch angeben."
START = "2030-01-07T09:00:00+01:00"


@pytest.fixture
def demo(app):
    apply_site(parse_site_file(DEMO, "Europe/Berlin"))


def _login(client, roles: str = "admin"):
    user = make_user(roles=roles)
    with client.session_transaction() as session:
        log_in_session(session, user)
    return user


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _problem(response) -> str:
    """What a 4xx answer tells the user: the API's message and field messages, or the page's text."""
    assert 400 <= response.status_code < 500, response.status_code
    if response.is_json:
        body = response.json
        assert body["detail"]
        return " ".join([body["detail"], *body.get("fields", {}).values()])
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- 18.9 no public 500


def test_id_or_none_refuses_unicode_digits_and_huge_numbers():
    assert id_or_none("42") == 42 and id_or_none(7) == 7
    for value in ("²", "①", "٣", "１２", "-1", "0", "", " 1", str(MAX_ID + 1), str(2**64), True):
        assert id_or_none(value) is None


@pytest.mark.parametrize("path", [
    "/api/v1/polls/9223372036854775808", "/api/v1/polls/18446744073709551616/results",
    "/api/v1/suggestions/100000000000000000000000000000", "/beteiligung/18446744073709551616",
    "/beteiligung/18446744073709551616/ergebnisse", "/beteiligung/ideen/9223372036854775808",
    "/beteiligung/²", "/beteiligung/①", "/api/v1/polls/²",
])
def test_huge_ids_and_unicode_digits_in_paths_are_404(app, client, path):
    make_poll(mode="open")
    response = client.get(path)
    assert response.status_code == 404
    assert "nicht gefunden" in _problem(response)


def test_huge_ids_in_staff_and_admin_paths_are_404(app, client):
    _login(client)
    for path in ("/mitarbeitende/heute/9223372036854775808",
                 "/arbeitsplaetze/buchungen/18446744073709551616/stornieren",
                 "/verwaltung/beteiligung/ideen/9223372036854775808/moderation",
                 "/arbeitsplaetze/verwaltung/sperren/99999999999999999999999/aufheben"):
        response = client.post(path, data={"decision": "publish"})
        assert response.status_code == 404, path
        assert "nicht gefunden" in _problem(response)
    assert client.get("/verwaltung/beteiligung/18446744073709551616").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/appointments", "/api/v1/suggestions", "/api/v1/polls/{poll}/ballots"])
@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000,
                                  '{"name":' + "[" * 40 + "]" * 40 + "}"])
def test_json_nested_deep_is_400(app, client, path, body):
    poll = make_poll(mode="open")
    response = client.post(path.format(poll=poll.id), data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["detail"]


def test_json_below_the_depth_limit_still_parses(app):
    from citizen_portal.core.schemas import MAX_JSON_DEPTH

    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert app.json.loads(nested) is not None
    with pytest.raises(ValueError):
        app.json.loads("[" + nested + "]")


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "²⁰²⁶-01", "2026-①", "10000-01", "2026-13"])
def test_month_at_the_range_limits_is_no_500(app, client, demo, month):
    response = client.get("/termine/personalausweis/buergeramt/", query_string={"monat": month})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert _problem(response)


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00",
                                   "9999-12-31T23:59:59-14:00", "²⁰²⁶-01-01T10:00:00+01:00"])
def test_start_at_the_range_limits_is_no_500(app, client, demo, start):
    page = client.get("/termine/personalausweis/buergeramt/buchen", query_string={"start": start})
    assert page.status_code in (303, 400)
    api = client.post("/api/v1/appointments", json={
        "service": "personalausweis", "location": "buergeramt", "start": start, "name": "Erika Mustermann",
        "email": "erika@example.org", "privacy_consent": True})
    assert api.status_code == 400
    assert "start" in api.json["fields"]
    slots = client.get("/api/v1/services/personalausweis/slots", query_string={"from": start[:10], "to": start[:10]})
    assert slots.status_code == 400 and slots.json["detail"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1900-01-01", "2200-12-31", "²⁰²⁶-01-01"])
def test_staff_pages_with_extreme_dates_are_no_500(app, client, demo, day):
    _login(client)
    for path, name in (("/mitarbeitende/heute", "tag"), ("/arbeitsplaetze/raeume", "date"),
                       ("/arbeitsplaetze/buchen", "date"), ("/arbeitsplaetze/wer-ist-da", "date"),
                       ("/api/v1/desks", "date"), ("/api/v1/rooms/sitzungssaal/availability", "date"),
                       ("/arbeitsplaetze/verwaltung/auslastung.csv", "first"),
                       ("/api/v1/desk-bookings", "from"), ("/api/v1/room-bookings", "to")):
        response = client.get(path, query_string={name: day})
        assert response.status_code < 500, (path, day, response.status_code)
        if response.status_code >= 400:
            assert _problem(response)


def test_a_block_ending_at_the_last_allowed_day_keeps_the_spaces_admin_page_working(app, client, demo):
    _login(client)
    refused = client.post("/arbeitsplaetze/verwaltung/sperren", data={
        "target": "room:sitzungssaal", "first_day": "2030-01-07", "last_day": "9999-12-31", "reason": "Umbau"})
    assert refused.status_code == 400
    assert "zwischen 1900 und 2200" in refused.get_data(as_text=True)
    saved = client.post("/arbeitsplaetze/verwaltung/sperren", data={
        "target": "room:sitzungssaal", "first_day": "2030-01-07", "last_day": "2200-12-31", "reason": "Umbau"})
    assert saved.status_code in (200, 303)
    # a row stored before the limits existed (or written by hand) must not break the page either
    room_block = db.session.scalars(select(SpaceBlock)).first()
    if room_block is None:
        pytest.fail("the block in range was not saved")
    db.session.add(SpaceBlock(room_id=room_block.room_id, first_day=date(2030, 1, 1), last_day=date(9999, 12, 31),
                              reason="alt"))
    db.session.commit()
    page = client.get("/arbeitsplaetze/verwaltung")
    assert page.status_code == 200
    assert "Umbau" in page.get_data(as_text=True)
    assert client.get("/arbeitsplaetze/raeume", query_string={"date": "2030-01-08"}).status_code == 200


# --------------------------------------------------------------------------- 18.10 control characters


@pytest.mark.parametrize("path", ["/beteiligung/a%00b", "/beteiligung/a%00b/ergebnisse", "/termine/a%00b/",
                                  "/termine/personalausweis/a%1bb/", "/api/v1/services/a%00b/slots",
                                  "/api/v1/appointments/a%00b"])
def test_control_characters_in_path_parts_are_404(app, client, demo, path):
    """PostgreSQL refuses NUL in text parameters: the lookup of such a slug or key was a 500."""
    make_poll(mode="open")
    response = client.get(path)
    assert response.status_code == 404
    assert "nicht gefunden" in _problem(response)


@pytest.mark.parametrize("username", ["anna\x00", "\x00", "anna\x1b[0m"])
def test_login_with_control_characters_is_a_failed_login(app, client, username):
    make_user("anna")
    response = client.post("/anmelden", data={"username": username, "password": "pw\x00"})
    assert response.status_code == 400
    assert 'name="username"' in response.get_data(as_text=True)

NUL_VALUES = ["Erika\x00Mustermann", "Erika\x1bMustermann", "Erika\x7fMustermann"]


@pytest.mark.parametrize("value", NUL_VALUES)
def test_booking_name_and_note_refuse_control_characters(app, client, demo, value):
    before = _count(Appointment)
    for field in ("name", "note"):
        form = {"start": START, "name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": "1",
                field: value}
        page = client.post("/termine/personalausweis/buergeramt/buchen", data=form)
        assert page.status_code == 400 and CONTROL in _problem(page)
        api = client.post("/api/v1/appointments", json={**form, "service": "personalausweis",
                                                        "location": "buergeramt", "privacy_consent": True})
        assert api.status_code == 400 and api.json["fields"][field] == CONTROL
    assert _count(Appointment) == before


def test_a_note_keeps_line_breaks_and_tabs_but_a_name_refuses_them(app, client, demo):
    from citizen_portal.booking.schemas import Contact
    from citizen_portal.core.errors import Invalid
    from citizen_portal.core.schemas import parse

    contact = parse(Contact, {"name": "Erika", "email": "erika@example.org", "privacy_consent": True,
                              "note": "Zeile 1\r\nZeile 2\tmit Tab"})
    assert contact.note == "Zeile 1\nZeile 2\tmit Tab"
    for name in ("Erika\r\nBcc: x@example.org", "Erika\nMustermann", "Erika\rMustermann"):
        with pytest.raises(Invalid) as caught:
            parse(Contact, {"name": name, "email": "erika@example.org", "privacy_consent": True})
        assert str(caught.value.fields["name"]) == LINE_BREAK
    api = client.post("/api/v1/appointments", json={
        "service": "personalausweis", "location": "buergeramt", "start": START, "name": "Erika\r\nMallory",
        "email": "erika@example.org", "privacy_consent": True})
    assert api.status_code == 400 and api.json["fields"]["name"] == LINE_BREAK


@pytest.mark.parametrize("field", ["title", "text", "category"])
def test_suggestion_fields_refuse_nul(app, client, field):
    form = {"title": "Trinkbrunnen", "text": "Im Sommer fehlt Wasser.", "category": "Stadtplatz",
            "email": "emil@example.org", field: "Brunnen\x00am Markt"}
    page = client.post("/beteiligung/ideen/neu", data=form)
    assert page.status_code == 400 and CONTROL in _problem(page)
    api = client.post("/api/v1/suggestions", json=form)
    assert api.status_code == 400 and api.json["fields"][field] == CONTROL
    assert _count(Suggestion) == 0


def test_suggestion_title_refuses_a_line_break_its_text_keeps_one(app, client):
    page = client.post("/beteiligung/ideen/neu", data={"title": "Brunnen\r\n<a href=x>Link</a>", "text": "a\nb",
                                                       "email": "emil@example.org"})
    assert page.status_code == 400 and LINE_BREAK in _problem(page)
    assert _count(Suggestion) == 0


def test_free_text_poll_answers_refuse_nul(app, client):
    poll = make_poll(mode="open")
    page = client.post(f"/beteiligung/{poll.slug}", data=form_answers(poll, text="gut\x00schlecht"))
    assert page.status_code == 400 and CONTROL in _problem(page)
    api = client.post(f"/api/v1/polls/{poll.id}/ballots", json={"answers": answers(poll, text="gut\x00schlecht")})
    assert api.status_code == 400 and CONTROL in _problem(api)
    assert _count(TextAnswer) == 0
    assert client.post(f"/api/v1/polls/{poll.id}/ballots", json={"answers": answers(poll)}).status_code == 201


def test_room_booking_titles_and_desk_keys_refuse_control_characters(app, client, demo):
    _login(client, "staff")
    for title, message in (("Team\x00Runde", CONTROL), ("Team\r\nRunde", LINE_BREAK)):
        page = client.post("/arbeitsplaetze/raeume/buchen", data={
            "room": "sitzungssaal", "date": "2030-01-07", "start": "10:00", "end": "11:00", "title": title})
        assert page.status_code == 400 and message in _problem(page)
        api = client.post("/api/v1/room-bookings", json={
            "room": "sitzungssaal", "start": "2030-01-07T10:00:00+01:00", "end": "2030-01-07T11:00:00+01:00",
            "title": title})
        assert api.status_code == 400 and api.json["fields"]["title"] == message
    desk = client.post("/api/v1/desk-bookings", json={"desk": "2og-01\x00", "date": "2030-01-07"})
    assert desk.status_code == 400 and desk.json["fields"]["desk"] == CONTROL
    assert _count(RoomBooking) == 0


def test_admin_room_and_service_names_refuse_nul(app, client, demo):
    _login(client)
    room = client.post("/arbeitsplaetze/verwaltung/raeume-und-plaetze/raeume/sitzungssaal",
                       data={"name_de": "Saal\x00", "name_en": "Hall", "capacity": "10"})
    assert room.status_code == 400 and CONTROL in _problem(room)
    service = client.post("/verwaltung/termine/leistungen/personalausweis",
                          data={"name_de": "Ausweis\x00", "name_en": "ID card", "duration_minutes": "15"})
    assert service.status_code == 400 and CONTROL in _problem(service)


# --------------------------------------------------------------------------- 18.11 mail headers


def test_publishing_an_old_suggestion_with_a_line_break_in_its_title_keeps_the_change_and_the_mail(
        app, client, smtp_sink):
    """A title stored before single lines were enforced reaches the publish mail's subject in one line;
    the publication is kept and the submitter's mail delivered (it used to be a 500 after the commit)."""
    suggestion = Suggestion(title="Brunnen\r\nBcc: victim@example.org\r\n\r\n<a href=x>Link</a>", text="Text",
                            email="emil@example.org", email_verified=True)
    db.session.add(suggestion)
    db.session.commit()
    _login(client, "poll_admin")
    response = client.post(f"/verwaltung/beteiligung/ideen/{suggestion.id}/moderation", data={"decision": "publish"})
    assert response.status_code in (200, 303)
    db.session.refresh(suggestion)
    assert suggestion.moderation == "published"
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "emil@example.org"
    assert mail["Bcc"] is None
    assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
    assert [rcpt for _sender, rcpts in smtp_sink.envelopes for rcpt in rcpts] == ["emil@example.org"]


@pytest.mark.parametrize("token", ["².abc.def", "①.abc.def", "١٢.abc.def", "9" * 150 + ".a.b"])
def test_a_waiting_token_with_unicode_digits_is_refused_not_a_500(app, token):
    from citizen_portal.core import captcha

    assert captcha._parse_waiting(token, captcha.API_SCOPE) is None


def test_publishing_while_the_relay_is_down_keeps_the_change_and_queues_the_mail(app, client, smtp_sink):
    from citizen_portal.core import mail
    from citizen_portal.core.models import QueuedMail
    from tests.fixtures.database import free_port

    suggestion = Suggestion(title="Brunnen\r\nam Markt", text="Text", email="emil@example.org", email_verified=True)
    db.session.add(suggestion)
    db.session.commit()
    _login(client, "poll_admin")
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=free_port())  # nothing listens there
    response = client.post(f"/verwaltung/beteiligung/ideen/{suggestion.id}/moderation", data={"decision": "publish"})
    assert response.status_code in (200, 303)
    db.session.refresh(suggestion)
    assert suggestion.moderation == "published"
    queued = db.session.scalars(select(QueuedMail)).one()
    assert queued.state == "pending" and queued.attempts == 1
    app.config.update(smtp_sink.config)
    db.session.execute(QueuedMail.__table__.update().values(next_attempt_at=queued.created_at))
    db.session.commit()
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    [delivered] = smtp_sink.wait_for(1)
    assert delivered["To"] == "emil@example.org" and "\n" not in str(delivered["Subject"])


def test_the_answers_to_hostile_input_are_translated(app, client, demo):
    english = {"Accept-Language": "en"}
    huge = client.get("/api/v1/polls/18446744073709551616", headers=english)
    assert huge.status_code == 404 and huge.json["detail"] == "The page or entry was not found."
    deep = client.post("/api/v1/suggestions", data="[" * 1000 + "]" * 1000, content_type="application/json",
                       headers=english)
    assert deep.status_code == 400 and "Bitte" not in deep.json["detail"]
    nul = client.post("/api/v1/suggestions", json={"title": "a\x00b", "text": "x", "email": "e@example.org"},
                      headers=english)
    assert nul.status_code == 400 and nul.json["fields"]["title"] != CONTROL
    assert "control" in nul.json["fields"]["title"].lower()

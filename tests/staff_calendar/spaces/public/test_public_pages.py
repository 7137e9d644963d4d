"""Rooms for citizens through the pages and the JSON API: catalogue, week, request with mail link,
confirmation, the room admin's decision with mails (.ics, manage link), cancelling; bad input is a
translated 400 with nothing changed; staff pages need the role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.models import RoomRequest, RoomUse
from tests.fixtures.mail import body_text
from tests.staff_calendar.spaces.factories import login_as, make_floor, make_room, make_site
from tests.staff_calendar.spaces.public.helpers import make_public_room, request_body, series_start

LINK = re.compile(r"http://\S+/raeume/(bestaetigen|anfrage)/(\S+)")


@pytest.fixture
def site(app, clock, calendar_calls, smtp_sink):
    make_site()
    make_public_room()
    make_room(make_floor("staff-only"), "intern")
    first = series_start()
    clock.set(first - timedelta(days=2), 12)
    admin = User(username="raeume", display_name="Raumvergabe", roles="room_admin")
    db.session.add(admin)
    db.session.commit()
    return first, admin


def _link(message) -> str:
    return LINK.search(body_text(message)).group(2)


def test_catalogue_and_week_in_both_languages(app, site):
    client = app.test_client()
    page = client.get("/raeume/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Raum buergerraum" in page and "intern" not in page and "Stufenlos" in page
    page = client.get("/raeume/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Room buergerraum" in page and "Step-free" in page
    assert client.get("/raeume/intern").status_code == 404
    first, _ = site
    week = client.get(f"/raeume/buergerraum?date={first.isoformat()}").get_data(as_text=True)
    assert "Bitte aufräumen." in week and "18:00" in week
    assert client.get("/raeume/buergerraum?date=kaputt").status_code == 200  # bad date: this week


def test_request_confirm_approve_cancel(app, site, smtp_sink):
    first, admin = site
    client = app.test_client()
    until = (first + timedelta(weeks=2)).isoformat()
    bad = client.post("/raeume/buergerraum/anfragen", data=request_body(first, attendees="99", accept_rules=""))
    assert bad.status_code == 400 and "Hausordnung" in bad.get_data(as_text=True)
    assert db.session.query(RoomRequest).count() == 0
    sent = client.post("/raeume/buergerraum/anfragen", data=request_body(first, until=until,
                                                                            show_organisation="1"))
    assert sent.status_code == 200
    assert sent.get_data(as_text=True).count("angefragt") >= 3
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "erika@example.org"
    token = _link(mail)
    assert "Anfrage bestätigen" in client.get(f"/raeume/bestaetigen/{token}").get_data(as_text=True)
    confirmed = client.post(f"/raeume/bestaetigen/{token}")
    assert confirmed.status_code == 200 and "vorgemerkt" in confirmed.get_data(as_text=True)
    assert client.get(f"/raeume/bestaetigen/{token}").status_code == 404  # used
    week = client.get(f"/raeume/buergerraum?date={first.isoformat()}").get_data(as_text=True)
    assert "Gartenverein" in week and "Erika" not in week  # the organisation chose to be shown

    assert client.get("/raeume/verwaltung/").status_code in (302, 401)
    login_as(client, admin)
    page = client.get("/raeume/verwaltung/").get_data(as_text=True)
    assert "Erika Muster" in page and "Monatstreffen" in page
    request_id = db.session.query(RoomRequest).one().id
    no_reason = client.post(f"/raeume/verwaltung/{request_id}/entscheiden", data={"decision": "decline"})
    assert no_reason.status_code == 400
    approved = client.post(f"/raeume/verwaltung/{request_id}/entscheiden",
                           data={"decision": "approve", "reason": "Schlüssel beim Pförtner."})
    assert approved.status_code == 303
    mails = smtp_sink.wait_for(2)
    confirmation = mails[1]
    assert "Schlüssel beim Pförtner." in body_text(confirmation)
    [ics] = [part for part in confirmation.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert ics.get_content().count("BEGIN:VEVENT") == 3
    manage = _link(confirmation)
    page = client.get(f"/raeume/anfrage/{manage}").get_data(as_text=True)
    assert page.count("bestätigt") >= 3
    use_id = db.session.query(RoomUse).order_by(RoomUse.start_at).first().id
    cancelled = client.post(f"/raeume/anfrage/{manage}/absagen", data={"use": str(use_id)})
    assert cancelled.status_code == 200 and db.session.get(RoomUse, use_id).status == "cancelled"
    assert client.post(f"/raeume/anfrage/{manage}/absagen", data={"use": "x"}).status_code == 400
    assert client.get("/raeume/anfrage/falsch").status_code == 404


def test_decline_mail_and_english_texts(app, site, smtp_sink):
    first, admin = site
    client = app.test_client()
    client.post("/raeume/buergerraum/anfragen", data=request_body(first), headers={"Accept-Language": "en"})
    [mail] = smtp_sink.wait_for(1)
    assert "Please confirm" in mail["Subject"]
    assert f"- {first:%d/%m/%Y} 18:00–20:00: requested" in body_text(mail)  # en-GB: day first, 24-hour
    client.post(f"/raeume/bestaetigen/{_link(mail)}")
    login_as(client, admin)
    request_id = db.session.query(RoomRequest).one().id
    client.post(f"/raeume/verwaltung/{request_id}/entscheiden", data={"decision": "decline", "reason": "Renovierung"})
    declined = smtp_sink.wait_for(2)[1]
    assert "Renovierung" in body_text(declined) and "free again" in body_text(declined)
    assert db.session.query(RoomUse).one().status == "declined"


def test_json_api(app, site, smtp_sink):
    first, _admin = site
    client = app.test_client()
    rooms = client.get("/api/v1/public-rooms").get_json()["rooms"]
    assert [room["key"] for room in rooms] == ["buergerraum"]
    week = client.get(f"/api/v1/public-rooms/buergerraum/week?date={first.isoformat()}").get_json()
    assert len(week["days"]) == 7 and any(day["free"] for day in week["days"])
    body = {**request_body(first, until=(first + timedelta(weeks=1)).isoformat()), "attendees": 5,
            "accept_rules": True, "show_organisation": False}
    created = client.post("/api/v1/public-room-requests", json=body)
    assert created.status_code == 201 and [d["ok"] for d in created.get_json()["dates"]] == [True, True]
    refused = client.post("/api/v1/public-room-requests", json={**body, "attendees": 500})
    assert refused.status_code == 400 and "attendees" in refused.get_json()["fields"]
    assert client.get("/api/v1/room-requests").status_code == 401


def test_graph_calendar_view_shows_requests_as_room_events(app, site):
    from citizen_portal.core.api_tokens import create_api_token
    from staff_calendar.spaces.services import public_requests
    from staff_calendar.spaces.services.common import Actor
    from tests.staff_calendar.spaces.public.helpers import request_input

    first, admin = site
    db.session.add(User(username="leser", display_name="Leser", roles="staff"))
    db.session.commit()
    token = create_api_token("leser", "graph")
    submitted = public_requests.submit(request_input(first, until=(first + timedelta(weeks=1)).isoformat(),
                                                     organisation=None), "de")
    request, _ = public_requests.verify(submitted.token)
    params = {"startDateTime": f"{first.isoformat()}T00:00:00", "endDateTime":
              f"{(first + timedelta(weeks=2)).isoformat()}T00:00:00"}
    client = app.test_client()

    def events() -> list[dict]:
        answer = client.get("/graph/v1.0/users/room-buergerraum/calendarView", query_string=params,
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()["value"]

    held = events()
    assert [(e["subject"], e["showAs"]) for e in held] == [("belegt", "tentative")] * 2
    assert "Erika" not in str(held)
    public_requests.approve(Actor.of(admin), request.id)
    assert [e["showAs"] for e in events()] == ["busy", "busy"]
    one = client.get(f"/graph/v1.0/users/room-buergerraum/events/{held[0]['id']}",
                     headers={"Authorization": f"Bearer {token}"})
    assert one.status_code == 200 and one.get_json()["subject"] == "belegt"

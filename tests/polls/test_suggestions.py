"""Suggestions: verified submission, moderation, support once per address, status with notification."""

from __future__ import annotations

import re

import pytest

from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from polls.models import Suggestion
from polls.services import suggestions
from tests.fixtures.mail import body_text


def _link(message) -> str:
    return re.search(r"http://[^/\s]+(/\S+)", body_text(message)).group(1)


def test_the_whole_life_of_a_suggestion(client, app, smtp_sink, poll_admin):
    response = client.post("/beteiligung/ideen/neu", data={
        "title": "Trinkbrunnen am Markt", "text": "Im Sommer fehlt Wasser.", "category": "Stadtplatz",
        "email": "emil@example.org"})
    assert response.status_code == 200
    [confirm_mail] = smtp_sink.wait_for(1)
    link = _link(confirm_mail)
    assert "Jetzt bestätigen" in client.get(link).get_data(as_text=True)
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 409  # one-time
    item = db.session.query(Suggestion).one()
    assert item.email_verified and item.moderation == "pending"
    assert client.get(f"/beteiligung/ideen/{item.id}").status_code == 404

    client.post(f"/verwaltung/beteiligung/ideen/{item.id}/moderation", data={"decision": "publish"})
    published_mail = smtp_sink.wait_for(2)[1]
    assert "veröffentlicht" in body_text(published_mail)
    assert "Trinkbrunnen" in client.get("/beteiligung/ideen").get_data(as_text=True)

    for address in ("fritz@example.org", "FRITZ@example.org"):
        client.post(f"/beteiligung/ideen/{item.id}/unterstuetzen", data={"email": address})
    messages = smtp_sink.wait_for(3)
    support_link = _link(messages[2])
    client.post(support_link)
    import time

    time.sleep(0.3)
    assert len(smtp_sink.messages) == 3 or client.post(_link(smtp_sink.messages[3])).status_code == 409
    db.session.refresh(item)
    assert item.supporters == 1

    client.post(f"/verwaltung/beteiligung/ideen/{item.id}/status",
                data={"status": "planned", "answer": "Wir stellen 2027 einen Brunnen auf."})
    status_mail = smtp_sink.messages[-1]
    assert "Geplant" in body_text(status_mail) and "2027" in body_text(status_mail)
    detail = client.get(f"/beteiligung/ideen/{item.id}").get_data(as_text=True)
    assert "Wir stellen 2027 einen Brunnen auf." in detail and "emil@" not in detail
    client.post(f"/verwaltung/beteiligung/ideen/{item.id}/status", data={"status": "done", "answer": "Steht."})
    db.session.refresh(item)
    assert item.email is None  # final status: the address is deleted after notifying


def test_rejection_needs_a_reason_and_tells_the_submitter(client, app, smtp_sink, poll_admin):
    client.post("/beteiligung/ideen/neu", data={"title": "Werbung", "text": "Kauft bei mir", "email": "x@example.org"})
    client.post(_link(smtp_sink.wait_for(1)[0]))
    item = db.session.query(Suggestion).one()
    response = client.post(f"/verwaltung/beteiligung/ideen/{item.id}/moderation", data={"decision": "reject"})
    assert response.status_code == 400 and "error-summary" in response.get_data(as_text=True)
    client.post(f"/verwaltung/beteiligung/ideen/{item.id}/moderation",
                data={"decision": "reject", "reason": "Werbung ist nicht erlaubt."})
    assert "Werbung ist nicht erlaubt." in body_text(smtp_sink.wait_for(2)[1])
    db.session.refresh(item)
    assert item.moderation == "rejected" and item.email is None


def test_support_twice_is_refused(app):
    item = Suggestion(title="T", text="x", email=None, email_verified=True, moderation="published")
    db.session.add(item)
    db.session.commit()
    first = suggestions.request_support(item.id, "a@example.org")
    second = suggestions.request_support(item.id, "a@example.org")
    suggestions.confirm(re.search(r"bestaetigen/(\S+)", first.context["link"]).group(1))
    with pytest.raises(Conflict):
        suggestions.confirm(re.search(r"bestaetigen/(\S+)", second.context["link"]).group(1))
    assert suggestions.request_support(item.id, "A@example.org") is None
    assert db.session.get(Suggestion, item.id).supporters == 1


def test_unconfirmed_suggestions_are_deleted_with_their_address_after_the_declared_hours(app):
    """Issue 18.8: an idea whose address was never confirmed does not keep the address forever. The
    worker's job ``polls.unconfirmed_suggestions`` deletes it (and its link) after
    ``POLLS_UNCONFIRMED_SUGGESTION_HOURS``; confirmed ones and younger ones stay."""
    from datetime import timedelta

    from citizen_portal.core.jobs import registered_jobs
    from polls.models import EmailToken
    from polls.schemas import SuggestionInput

    assert app.config["POLLS_UNCONFIRMED_SUGGESTION_HOURS"] == 48
    job = next(job for job in registered_jobs(app) if job.name == "polls.unconfirmed_suggestions")
    assert job.run is suggestions.delete_unconfirmed
    suggestions.submit(SuggestionInput(title="Alt", text="Nie bestätigt", email="alt@example.org"))
    confirmed = suggestions.submit(SuggestionInput(title="Bestätigt", text="Bestätigt", email="ok@example.org"))
    suggestions.confirm(re.search(r"/([^/]+)$", confirmed.context["link"]).group(1))
    suggestions.submit(SuggestionInput(title="Neu", text="Gerade eingereicht", email="neu@example.org"))
    rows = {row.title: row for row in db.session.query(Suggestion)}
    moment = rows["Alt"].created_at + timedelta(days=3)
    rows["Alt"].created_at = rows["Bestätigt"].created_at = moment - timedelta(hours=48)
    rows["Neu"].created_at = moment - timedelta(hours=47, minutes=59)
    stale_id = rows["Alt"].id
    db.session.commit()
    assert db.session.query(EmailToken).filter(EmailToken.purpose == "suggest",
                                               EmailToken.target_id == stale_id).count() == 1

    assert suggestions.delete_unconfirmed(moment=moment) == 1
    left = {row.title: row for row in db.session.query(Suggestion)}
    assert set(left) == {"Bestätigt", "Neu"} and left["Bestätigt"].email == "ok@example.org"
    assert db.session.get(Suggestion, stale_id) is None
    assert db.session.query(EmailToken).filter(EmailToken.purpose == "suggest",
                                               EmailToken.target_id == stale_id).count() == 0
    assert suggestions.delete_unconfirmed(moment=moment + timedelta(minutes=1)) == 1  # now "Neu" is due

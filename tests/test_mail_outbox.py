"""Mail goes through an outbox (issue 18, finding 11): a relay that is down loses nothing, header
fields never carry a line break, a bad recipient never makes a 500 after the commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from citizen_portal.core import mail
from citizen_portal.core.extensions import db
from citizen_portal.core.models import QueuedMail
from tests.fixtures.database import free_port


def _due_now() -> None:
    for row in db.session.scalars(select(QueuedMail).where(QueuedMail.state == "pending")):
        row.next_attempt_at = datetime.now(UTC)
    db.session.commit()


def test_a_mail_the_relay_refuses_is_delivered_once_the_relay_is_back(app, smtp_sink):
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=free_port())  # nothing listens there
    mail.send_mail(mail.Mail(to="erika@example.org", subject="Termin", text="Guten Tag", kind="confirmation"))
    row = db.session.scalars(select(QueuedMail)).one()
    assert (row.state, row.attempts, row.parts is not None) == ("pending", 1, True)

    app.config.update(smtp_sink.config)
    _due_now()
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    assert [message["Subject"] for message in smtp_sink.wait_for(1)] == ["Termin"]
    _due_now()
    assert mail.deliver_mail_outbox() == ""  # sent once, never again
    row = db.session.scalars(select(QueuedMail)).one()
    assert (row.state, row.parts, row.message) == ("sent", None, None)  # the content is erased after delivery


def test_a_line_break_in_a_subject_never_becomes_a_header(app, smtp_sink):
    typed_title = "Spielplatz\r\nBcc: everyone@evil.example\r\n\r\nKlicken Sie hier"
    mail.send_mail(mail.Mail(to="erika@example.org", subject=f"Ihr Vorschlag: {typed_title}", text="x"))
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Ihr Vorschlag: Spielplatz Bcc: everyone@evil.example Klicken Sie hier"
    assert message["Bcc"] is None
    assert [recipients for _sender, recipients in smtp_sink.envelopes] == [["erika@example.org"]]


def test_a_list_of_recipients_is_not_sent_and_raises_nothing(app, smtp_sink, caplog):
    mail.send_mail(mail.Mail(to="a@example.org,b@example.org", subject="x", text="x", kind="confirmation"))
    assert db.session.scalars(select(QueuedMail)).all() == []
    assert "mail not queued: confirmation" in caplog.text
    assert "a@example.org" not in caplog.text


def test_an_attachment_is_built_by_the_courier_once_and_an_unknown_builder_is_refused(app, smtp_sink, caplog):
    built: list[dict] = []

    def shout(spec: dict) -> bytes:
        built.append(spec)
        return spec["text"].upper().encode()

    mail.register_attachment_builder(app, "shout", shout)
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=free_port())  # nothing listens there
    note = mail.Attachment("note.txt", "text/plain", build="shout", spec={"text": "hallo"})
    mail.send_mail(mail.Mail(to="erika@example.org", subject="Notiz", text="x", attachments=[note]))
    assert len(built) == 1  # the first (failed) try built it; the request's queueing did not

    app.config.update(smtp_sink.config)
    _due_now()
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    [message] = smtp_sink.wait_for(1)
    [part] = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content().strip()) == ("note.txt", "HALLO")
    assert built == [{"text": "hallo"}, {"text": "hallo"}]

    nobody = mail.Attachment("x.ics", "text/calendar", build="nobody-registered-this", spec={})
    mail.send_mail(mail.Mail(to="erika@example.org", subject="x", text="x", kind="orphan", attachments=[nobody]))
    assert "mail not queued: orphan" in caplog.text
    assert db.session.scalars(select(QueuedMail).where(QueuedMail.kind == "orphan")).all() == []


def _queued_by_a_process_whose_courier_never_ran(app) -> QueuedMail:
    app.config["AFTER_RESPONSE_IN_BACKGROUND"] = True
    try:
        with app.test_request_context("/"):  # the answer is never closed: the courier never gets the mail
            mail.send_mail(mail.Mail(to="erika@example.org", subject="Termin", text="x", kind="confirmation"))
    finally:
        app.config["AFTER_RESPONSE_IN_BACKGROUND"] = False
    return db.session.scalars(select(QueuedMail)).one()


def test_a_mail_is_queued_claimed_by_its_courier_and_the_worker_takes_it_once_that_claim_ran_out(app, smtp_sink):
    row = _queued_by_a_process_whose_courier_never_ran(app)
    assert row.state == "pending" and row.claimed_until > datetime.now(UTC)
    assert mail.deliver_mail_outbox() == ""  # the courier's: the worker keeps off while the claim holds

    db.session.execute(QueuedMail.__table__.update().values(claimed_until=datetime(2000, 1, 1, tzinfo=UTC)))
    db.session.commit()  # the process died: its claim runs out
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    assert [message["Subject"] for message in smtp_sink.wait_for(1)] == ["Termin"]


def _claimed_until(row_id: int, moment: datetime) -> datetime:
    db.session.execute(QueuedMail.__table__.update().where(QueuedMail.id == row_id).values(claimed_until=moment))
    db.session.commit()
    return moment


def test_a_courier_that_fell_behind_renews_its_claim_and_never_sends_what_the_worker_took(app, smtp_sink):
    row = _queued_by_a_process_whose_courier_never_ran(app)
    row_id, parts = row.id, row.parts
    held = _claimed_until(row_id, datetime.now(UTC) + timedelta(seconds=5))  # its claim has almost run out
    worker_claim = _claimed_until(row_id, datetime.now(UTC) + timedelta(seconds=90))  # ... and the worker took it
    mail._deliver_queued(row_id, None, parts, held)
    smtp_sink.assert_no_mail()
    assert db.session.get(QueuedMail, row_id).claimed_until == worker_claim

    held = _claimed_until(row_id, datetime.now(UTC) + timedelta(seconds=5))  # nobody else took it
    mail._deliver_queued(row_id, None, parts, held)
    assert [message["Subject"] for message in smtp_sink.wait_for(1)] == ["Termin"]  # renewed, then sent
    db.session.expire_all()
    assert db.session.get(QueuedMail, row_id).state == "sent"

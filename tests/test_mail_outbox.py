"""Mail goes through an outbox (issue 18, finding 11): a relay that is down loses nothing, header
fields never carry a line break, a bad recipient never makes a 500 after the commit."""

from __future__ import annotations

from datetime import UTC, datetime

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

"""Outgoing mail for every package, through an outbox: SMTP when ``PORTAL_MAIL_SMTP_HOST`` is set,
otherwise each message is written to ``instance/mail/<timestamp>-<id>.eml`` (the ``make run`` default).

Rules:
- ``send_mail`` is called after the database commit (a rolled-back booking sends nothing). It checks
  the recipient and stores the mail's parts in ``mail_outbox`` in its own transaction (text, headers,
  attachments or what an attachment is built from); the courier builds the MIME message (and an
  attachment from its registered builder, e.g. the iTIP ``.ics``) when it delivers, like the calendar
  outbox builds the event from its payload: the request that queues a mail pays for neither. The
  content is fixed when it is queued (``Date`` and ``Message-ID`` too); only an attachment's
  ``DTSTAMP`` is the time of delivery. Delivery follows after the
  response (``core.after_response``: the citizen never waits for the relay, and the time of an answer
  does not tell whether a mail was sent). A relay that is down or refuses costs nothing but time: the
  worker's job "mail-outbox" retries with backoff (30 s doubling to 1 h) for ``MAIL_RETRY_HOURS`` and
  delivers what a stopped process left, so no mail is lost on an exception.
- One courier or worker sends a mail at a time: it claims the row first by a conditional update
  (``claimed_until``), which is atomic on both databases, so queueing and claiming take no lock. A
  new row is born claimed by the courier of the process that queued it (no claim statement); if that
  process dies first, the worker sends the mail once the claim has run out (``CLAIM_SECONDS``).
- The message is built with ``email.mime`` (RFC 2047 encoded words for non-ASCII header fields,
  quoted-printable UTF-8 text, base64 attachments) and handed to the relay as bytes with CRLF line
  ends, never parsed again.
- Header fields never carry line breaks: a subject is one line whatever a user typed into a name or
  title (no header injection), and the recipient must be one plain address.
- Delivered and given-up messages are erased from the outbox (only kind and times stay); log lines
  name the message kind, never the recipient or the content.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import or_, select, update

from citizen_portal.core.after_response import after_response
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.health import register_health_check
from citizen_portal.core.jobs import register_job
from citizen_portal.core.logs import bound_request_id, current_request_id
from citizen_portal.core.metrics import register_outbox
from citizen_portal.core.models import QueuedMail
from citizen_portal.core.schemas import EMAIL_PATTERN

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
CLAIM_SECONDS = 120.0
CLAIM_MARGIN_SECONDS = 60.0  # a delivery takes at most the SMTP timeout (15 s): this much left is enough


AttachmentBuilder = Callable[[dict], bytes]


def register_attachment_builder(app: Flask, name: str, builder: AttachmentBuilder) -> None:
    """An attachment kind the courier builds at delivery from a JSON-able ``spec`` (``Attachment.build``)."""
    app.extensions.setdefault("mail_attachment_builders", {})[name] = builder


def _attachment_builders() -> dict[str, AttachmentBuilder]:
    return current_app.extensions.get("mail_attachment_builders", {})


@dataclass
class Attachment:
    filename: str
    content_type: str  # e.g. 'text/calendar; method=REQUEST; charset=UTF-8'
    data: bytes | None = None
    build: str | None = None  # instead of data: a registered builder's name, called with ``spec`` at delivery
    spec: dict | None = None

    def content(self) -> bytes:
        return self.data if self.data is not None else _attachment_builders()[self.build](self.spec or {})


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = "mail"  # for the log line only
    attachments: list[Attachment] = field(default_factory=list)
    sender_name: str | None = None  # the display name of From (in the mail's language)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Reply-To, Auto-Submitted, Content-Language
    date: str | None = None  # RFC 5322 Date and Message-ID: set when the mail is queued
    message_id: str | None = None


def _stored(mail: Mail) -> bytes:
    """The parts of a queued mail as the outbox keeps them (JSON; attachment data base64)."""
    fields = asdict(mail)
    for item in fields["attachments"]:
        item["data"] = None if item["data"] is None else base64.b64encode(item["data"]).decode()
    return json.dumps(fields, ensure_ascii=False).encode()


def _restored(stored: bytes) -> Mail:
    fields = json.loads(stored)
    for item in fields["attachments"]:
        item["data"] = None if item["data"] is None else base64.b64decode(item["data"])
    fields["attachments"] = [Attachment(**item) for item in fields["attachments"]]
    return Mail(**fields)


def one_line(text: str) -> str:
    """A header value on one line: every run of whitespace (line breaks included) becomes one space."""
    return " ".join(str(text).split())


def _recipient(mail: Mail) -> str:
    recipient = mail.to.strip()
    if not EMAIL_PATTERN.match(recipient):
        raise ValueError("the recipient must be one plain e-mail address")
    return recipient


_UTF8_QUOTED = Charset("utf-8")
_UTF8_QUOTED.body_encoding = QP


def _header_value(value: str) -> str | Header:
    """One line; non-ASCII as RFC 2047 encoded words."""
    value = one_line(value)
    return value if value.isascii() else Header(value, "utf-8")


def _part(part: Message) -> Message:
    del part["MIME-Version"]  # only the message itself carries it
    return part


def _attachment_part(attachment: Attachment) -> Message:
    main_type, _, rest = attachment.content_type.partition("/")
    sub_type, *params = [item.strip() for item in rest.split(";")]
    part = MIMEBase(main_type, sub_type, **dict(param.split("=", 1) for param in params if "=" in param))
    part.set_payload(attachment.content())
    encoders.encode_base64(part)
    filename = attachment.filename if attachment.filename.isascii() else ("utf-8", "", attachment.filename)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return _part(part)


def build_message(mail: Mail) -> Message:
    """The MIME message (``email.mime``: no header parsing, a fifth of ``EmailMessage``'s time): text
    (and HTML) quoted-printable UTF-8, attachments base64 and built now, every header field on one
    line with non-ASCII as encoded words; ``Date`` and ``Message-ID`` as queued."""
    recipient = _recipient(mail)
    body: Message = MIMEText(mail.text, "plain", _UTF8_QUOTED)
    if mail.html:
        body = MIMEMultipart("alternative", _subparts=[_part(body), _part(MIMEText(mail.html, "html", _UTF8_QUOTED))])
    message = body
    if mail.attachments:
        message = MIMEMultipart("mixed", _subparts=[_part(body), *map(_attachment_part, mail.attachments)])
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    message["From"] = formataddr((one_line(mail.sender_name or name), address), charset="utf-8")
    message["To"] = recipient
    message["Subject"] = _header_value(mail.subject)
    message["Date"] = mail.date or formatdate(localtime=False)
    message["Message-ID"] = mail.message_id or make_msgid(domain=current_app.config["EVENT_UID_DOMAIN"])
    for field_name, value in mail.headers.items():
        message[field_name] = _header_value(value)
    return message


def send_mail(mail: Mail) -> None:
    """Queue one mail and deliver it after the response; never raises for delivery problems (the
    worker retries). Call after the commit of the change the mail is about. Refused (logged, not
    queued): a recipient that is not one plain address, an attachment builder nobody registered."""
    try:
        _recipient(mail)
        if any(item.data is None and item.build not in _attachment_builders() for item in mail.attachments):
            raise ValueError("unknown attachment builder")
    except ValueError:  # input that should have been refused before the commit: never a 500 after it
        log.error("mail not queued: %s (invalid recipient or header)", mail.kind)
        return
    mail.date = mail.date or formatdate(localtime=False)
    mail.message_id = mail.message_id or make_msgid(domain=current_app.config["EVENT_UID_DOMAIN"])
    parts, held_until = _stored(mail), datetime.now(UTC) + timedelta(seconds=CLAIM_SECONDS)
    with write_transaction():  # a new row waits for nobody; it is born claimed by this process's courier
        queued = QueuedMail(kind=mail.kind[:64], parts=parts, request_id=current_request_id(),
                            claimed_until=held_until)
        db.session.add(queued)
    after_response(_deliver_queued, queued.id, current_request_id(), parts, held_until)


def _deliver_queued(mail_id: int, request_id: str | None, parts: bytes, held_until: datetime) -> None:
    """The courier's delivery of a mail its process queued. The row was queued claimed until
    ``held_until``: while enough of that claim is left for one delivery, nobody else may send it
    and the courier sends without asking the database; a courier that fell behind claims it anew
    like the worker does, so the two never send one mail twice."""
    with bound_request_id(request_id):  # the log lines of the request that queued it
        if held_until - datetime.now(UTC) > timedelta(seconds=CLAIM_MARGIN_SECONDS):
            _deliver(mail_id, (parts, None))
        else:
            _deliver(mail_id, _claim(mail_id, held_until))


def deliver_mail_outbox(limit: int = 50) -> str:
    """The worker's job "mail-outbox": deliver every due mail (each claimed first, so two workers never
    send one mail at the same time)."""
    now = datetime.now(UTC)
    due = db.session.execute(
        select(QueuedMail.id, QueuedMail.request_id)
        .where(QueuedMail.state == "pending", QueuedMail.next_attempt_at <= now,
               or_(QueuedMail.claimed_until.is_(None), QueuedMail.claimed_until < now))
        .order_by(QueuedMail.id).limit(limit)).all()
    db.session.commit()
    sent = 0
    for mail_id, request_id in due:
        with bound_request_id(request_id or current_request_id()):  # the log lines of the request that queued it
            sent += _deliver(mail_id, _claim(mail_id))
    return f"{sent} sent, {len(due) - sent} waiting" if due else ""


def _claim(mail_id: int, held_until: datetime | None = None) -> tuple[bytes | None, bytes | None] | None:
    """Claim a due mail: its stored parts (or, queued before parts were kept, its whole message).
    The conditional update is the claim: of two couriers or workers, one changes the row, the other
    finds it claimed (no lock needed on either database). ``held_until``: the claim the caller holds
    (a courier's own row), renewed unless somebody else took the row after it ran out."""
    now = datetime.now(UTC)
    free = or_(QueuedMail.claimed_until.is_(None), QueuedMail.claimed_until < now)
    if held_until is not None:
        free = or_(free, QueuedMail.claimed_until == held_until)
    with write_transaction():
        row = db.session.execute(
            update(QueuedMail).where(QueuedMail.id == mail_id, QueuedMail.state == "pending", free)
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
            .returning(QueuedMail.parts, QueuedMail.message)
            .execution_options(synchronize_session=False)).first()
    return None if row is None else (row.parts, row.message)


def _deliver(mail_id: int, stored: tuple[bytes | None, bytes | None] | None) -> bool:
    """Send a claimed mail (``stored``: its parts or whole message; ``None``: the claim failed)."""
    if stored is None:
        return False
    parts, message = stored
    try:
        _transmit(message if parts is None else bytes(build_message(_restored(parts))))
    except Exception as exc:  # the relay is down or refused: try again later
        _record_failure(mail_id, exc)
        return False
    with write_transaction(wait_for_disk=False):  # lost in a power failure: sent once more, nothing else
        kind = db.session.execute(
            update(QueuedMail).where(QueuedMail.id == mail_id)
            .values(state="sent", parts=None, message=None, sent_at=datetime.now(UTC), claimed_until=None)
            .returning(QueuedMail.kind).execution_options(synchronize_session=False)).scalar_one()
    log.info("mail sent: %s", kind)
    return True


def _record_failure(mail_id: int, exc: Exception) -> None:
    give_up_after = timedelta(hours=float(current_app.config["MAIL_RETRY_HOURS"]))
    with write_transaction():  # the claimer's row: nobody else writes it while the claim holds
        row = db.session.get(QueuedMail, mail_id)
        row.attempts += 1
        row.last_error = type(exc).__name__[:300]
        row.claimed_until = None
        now = datetime.now(UTC)
        if now - row.created_at >= give_up_after:
            row.state, row.parts, row.message = "failed", None, None
        else:
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
            row.next_attempt_at = now + timedelta(seconds=delay)
        kind, state = row.kind, row.state
    log.warning("mail %s: %s (%s)", "given up" if state == "failed" else "not sent yet", kind, type(exc).__name__)


def _transmit(raw: bytes) -> None:
    """To the relay (envelope from the From and To fields, lines ended by CRLF as SMTP wants them), or
    into ``instance/mail/`` without one."""
    host = current_app.config["MAIL_SMTP_HOST"]
    if not host:
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(raw)
        return
    fields = BytesHeaderParser().parsebytes(raw)
    sender, recipient = parseaddr(fields["From"] or "")[1], parseaddr(fields["To"] or "")[1]
    password_env = current_app.config["MAIL_SMTP_PASSWORD_ENV"]
    with smtplib.SMTP(host, int(current_app.config["MAIL_SMTP_PORT"]), timeout=15) as smtp:
        if current_app.config["MAIL_SMTP_STARTTLS"]:
            smtp.starttls()
        if current_app.config["MAIL_SMTP_USERNAME"]:
            smtp.login(current_app.config["MAIL_SMTP_USERNAME"], os.environ.get(password_env, ""))
        smtp.sendmail(sender, [recipient], re.sub(rb"\r?\n", b"\r\n", raw))


def backlog() -> tuple[int, datetime | None]:
    """Mails waiting for delivery and the creation time of the oldest (``/healthz``, ``/metrics``)."""
    oldest = db.session.scalar(select(QueuedMail.created_at).where(QueuedMail.state == "pending")
                               .order_by(QueuedMail.created_at).limit(1))
    return db.session.query(QueuedMail).filter(QueuedMail.state == "pending").count(), oldest


def outbox_check() -> dict:
    """``/healthz``: mails waiting and the age of the oldest; a relay that is down degrades, never fails."""
    now = datetime.now(UTC)
    waiting, oldest = backlog()
    age = (now - oldest).total_seconds() if oldest else None
    return {"ok": True, "degraded": age is not None and age > 3600, "pending": waiting,
            "oldest_pending_age_seconds": age}


def init_app(app: Flask) -> None:
    """The worker delivers waiting mail every round; ``/healthz`` reports the backlog."""
    register_job(app, "mail-outbox", deliver_mail_outbox, 0, order=15)
    register_health_check(app, "mail", outbox_check)
    register_outbox(app, "mail", backlog)

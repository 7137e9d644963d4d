"""Outgoing mail for every package: SMTP when ``PORTAL_MAIL_SMTP_HOST`` is set, otherwise each
message is written to ``instance/mail/<timestamp>-<id>.eml`` (the ``make run`` default).

Rules: called only after the database commit (a rolled-back booking sends nothing); the log line
names the message kind, never the recipient."""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


@dataclass
class Attachment:
    filename: str
    content_type: str  # e.g. 'text/calendar; method=REQUEST; charset=UTF-8'
    data: bytes


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = "mail"  # for the log line only
    attachments: list[Attachment] = field(default_factory=list)


def build_message(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=current_app.config["EVENT_UID_DOMAIN"])
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        main_type, _, rest = attachment.content_type.partition("/")
        sub_type, *params = [part.strip() for part in rest.split(";")]
        extra = dict(param.split("=", 1) for param in params if "=" in param)
        extra.pop("charset", None)
        message.add_attachment(
            attachment.data, maintype=main_type, subtype=sub_type,
            filename=attachment.filename, params=extra,
        )
    return message


def send_mail(mail: Mail) -> None:
    """Deliver one mail now (SMTP or file); raises on SMTP failure so the caller can retry."""
    message = build_message(mail)
    host = current_app.config["MAIL_SMTP_HOST"]
    if host:
        password_env = current_app.config["MAIL_SMTP_PASSWORD_ENV"]
        with smtplib.SMTP(host, int(current_app.config["MAIL_SMTP_PORT"]), timeout=15) as smtp:
            if current_app.config["MAIL_SMTP_STARTTLS"]:
                smtp.starttls()
            if current_app.config["MAIL_SMTP_USERNAME"]:
                smtp.login(current_app.config["MAIL_SMTP_USERNAME"], os.environ.get(password_env, ""))
            smtp.send_message(message)
    else:
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(bytes(message))
    log.info("mail sent: %s", mail.kind)

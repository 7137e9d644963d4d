"""Who may vote: invitation codes and verified email links.

Rules:
* invitation codes: the admin generates N codes in a batch; a code is 12 characters of an
  unambiguous alphabet (~59 bits); only SHA-256 hashes are stored. The codes are derived from the
  batch nonce and the app secret, so the admin can download them (CSV, printable sheet) until the
  batch is sealed; sealing deletes the nonce and with it the last way to recover the codes;
* verified email: the citizen asks for a link; the address is stored only as an HMAC with the
  poll's salt; a link is valid for 48 hours and for one ballot; one ballot per address (the
  address hash is the participation marker); no link is sent to an address that already voted
  (the answer is the same, so nobody learns whether an address took part).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, current_language, localized, regional
from citizen_portal.core.mail import Mail, send_mail
from citizen_portal.core.security import token_hash

from ..models import CodeBatch, EmailToken, InvitationCode, Mode, Participation, Poll
from .common import app_key, code_hash, derived_code, keyed_hash, new_link_token, normalize_email, now

LINK_VALID = timedelta(hours=48)


def _batch_key(batch: CodeBatch) -> str:
    if not batch.nonce:
        raise Conflict(_l("Diese Codes sind versiegelt und können nicht mehr angezeigt werden."), code="batch_sealed")
    return app_key(f"codes:{batch.poll_id}:{batch.id}:{batch.nonce}")


def generate_codes(poll_id: int, count: int) -> CodeBatch:
    """A batch of ``count`` codes (1..``schemas.MAX_CODES_PER_BATCH``) for a poll of mode ``codes``."""
    with write_transaction(locks.poll(poll_id)):
        poll = db.session.get(Poll, poll_id)
        if poll is None:
            raise NotFound()
        if poll.mode != Mode.CODES:
            raise Conflict(_l("Diese Umfrage verwendet keine Einladungscodes."), code="wrong_mode")
        batch = CodeBatch(poll_id=poll_id, size=count, nonce=secrets.token_hex(16))
        db.session.add(batch)
        db.session.flush()
        key = _batch_key(batch)
        hashes = {code_hash(derived_code(key, index)) for index in range(count)}
        if len(hashes) != count:  # astronomically unlikely; never hand out a code twice
            raise Conflict(code="collision")
        db.session.execute(
            InvitationCode.__table__.insert(),
            [{"code_hash": h, "poll_id": poll_id, "batch_id": batch.id} for h in hashes],
        )
    return batch


def batch_codes(batch: CodeBatch) -> list[str]:
    key = _batch_key(batch)
    return [derived_code(key, index) for index in range(batch.size)]


def get_batch(poll_id: int, batch_id: int) -> CodeBatch:
    batch = db.session.get(CodeBatch, batch_id)
    if batch is None or batch.poll_id != poll_id:
        raise NotFound()
    return batch


def seal_batch(poll_id: int, batch_id: int) -> CodeBatch:
    with write_transaction(locks.poll(poll_id)):
        batch = get_batch(poll_id, batch_id)
        batch.nonce = None
        batch.sealed_at = batch.sealed_at or now()
    return batch


def batches(poll_id: int) -> list[CodeBatch]:
    return list(db.session.scalars(select(CodeBatch).where(CodeBatch.poll_id == poll_id).order_by(CodeBatch.id)))


def email_hash(poll: Poll, email: str) -> str:
    if not poll.email_salt:
        raise Conflict(_l("Die Umfrage ist archiviert."), code="poll_archived")
    return keyed_hash(poll.email_salt, normalize_email(email))


@dataclass
class LinkRequest:
    email: str
    token: str | None  # None when the address already voted: nothing is sent
    expires_at: datetime | None = None


def request_vote_link(poll: Poll, email: str) -> LinkRequest:
    """Store a one-time link for ``email`` (hash only). The caller sends the mail after commit."""
    if poll.mode != Mode.EMAIL:
        raise Conflict(_l("Diese Umfrage verwendet keine E-Mail-Bestätigung."), code="wrong_mode")
    if poll.status(now()) != "open":
        raise Conflict(_l("Die Umfrage ist nicht geöffnet."), code="poll_closed")
    marker = email_hash(poll, email)
    token = new_link_token()
    with write_transaction(locks.poll_email(poll.id, marker)):
        used = db.session.scalar(select(Participation.id).where(Participation.poll_id == poll.id,
                                                                Participation.marker == marker))
        if used:
            return LinkRequest(email, None)
        expires_at = now() + LINK_VALID
        db.session.add(EmailToken(token_hash=token_hash(token), purpose="vote", target_id=poll.id,
                                  email_hash=marker, expires_at=expires_at))
    return LinkRequest(email, token, expires_at)


def send_vote_link(poll: Poll, request: LinkRequest) -> None:
    """After commit: the mail with the link (or nothing if the address already voted)."""
    if request.token is None:
        return
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("polls.poll", slug=poll.slug, t=request.token)
    language = current_language()
    with force_locale(regional(language)):  # dates and times as the language's region writes them (en-GB)
        context = {"poll_title": localized(poll.title), "link": link, "hours": int(LINK_VALID.total_seconds() // 3600),
                   "expires": request.expires_at, "closes": poll.closes_at}
        subject = str(_l("Ihr Link zur Abstimmung: %(title)s", title=context["poll_title"]))
        text = render_template("email/polls/vote_link.txt", **context, language=language)
    send_mail(Mail(to=request.email, subject=subject, text=text, kind="polls.vote_link"))


def vote_token(poll: Poll, token: str | None) -> EmailToken | None:
    """The valid email token for this poll, or None."""
    if not token or len(token) > 100:
        return None
    row = db.session.get(EmailToken, token_hash(token))
    if row is None or row.purpose != "vote" or row.target_id != poll.id or row.expires_at <= now():
        return None
    return row

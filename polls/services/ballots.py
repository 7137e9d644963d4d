"""Casting a ballot.

Rules:
* only while the poll's status is open (computed from its times), otherwise 409 ``poll_closed``;
  the API's ``cast_public_ballot`` answers 404 for a poll that is not public (draft, scheduled,
  archived) and checks the captcha of a poll of mode ``Mode.ANYONE``; the poll page does both
  itself before ``cast_ballot``;
* mode ``codes``: a valid, unused invitation code; ``email``: a valid, unused one-time link;
  ``Mode.ANYONE``: nothing (the caller checked the captcha and the rate limit);
* the answers are typed by the poll's ``schemas.answers_model`` (single = one option, multiple = at
  most ``max_choices`` distinct options, rating = 1–5, text = at most 2000 characters; required
  questions answered; at least one answer);
* one transaction per ballot, and nothing in it that can be done before: what casting needs of a
  poll (mode, slug, questions and their answer model) is a per-process copy of one revision
  (``voting_poll``), so status, answers and the code's form are checked before, without a
  statement; the transaction reads the poll row and writes the marker and the pending ballot;
* an error is answered only from a copy of the poll read in the same request: when this process's
  older copy refuses a ballot, or the poll row no longer matches it (another revision, not open),
  the poll is read again and the ballot checked again from the start;
* one ballot per code / address: the participation marker is unique per (poll, marker). A code's
  marker is inserted from the poll's invitation codes (``INSERT … SELECT``): no row means the code
  is not valid for this poll (400), the unique constraint means it was used (409
  ``already_voted``); two concurrent requests with the same code both pass the checks, the second
  INSERT waits for the first transaction and then fails on the constraint. Only a ballot whose
  answers are wrong looks the code up before (a used code answers 409 before wrong answers);
  an e-mail ballot checks its link before and holds ``locks.poll_email`` of its address, as asking
  for a link does; other ballots take no advisory lock, so ballots of one poll never wait for
  each other;
* frozen questions: the ballot transaction reads the poll row ``FOR SHARE`` (ballots don't block
  each other; a question edit, which updates that row, waits for them and then sees the ballots)
  and compares the poll's ``revision`` with the one the answers were checked against; if the poll
  changed in between, the ballot is checked again from the start;
* ballot secrecy in storage (issue 18.1, ``ballot_batches``): this transaction writes the marker
  and one encrypted, padded pending row; the ballot, its receipt hash and the counters are written
  later in a shuffled batch of its own, so no counted row shares the marker's transaction or its
  order; the ballot then has a random id, no time and no reference to the participation;
* the voter gets a random receipt code (not in cast order); only its hash is stored, in the
  pending row and then, apart from the ballot, in the receipt list of its batch.

On SQLite ``write_transaction`` is ``BEGIN IMMEDIATE``: ballots are serialised by the database's
single write lock and the same checks hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, delete, func, insert, literal, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from citizen_portal.core import locks
from citizen_portal.core.database import is_postgresql, write_transaction
from citizen_portal.core.errors import Conflict, DomainError, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.security import token_hash

from ..models import EmailToken, InvitationCode, Mode, Participation, PendingBallot, Poll, Receipt, random_id
from ..schemas import ParsedBallot, parse_answers
from . import ballot_batches
from .common import code_hash, normalize_code, now, random_code
from .voting_polls import VotingPoll, voting_poll

RECEIPT_LENGTH = 16


MAX_ATTEMPTS = 3  # rounds with the poll read in the request (it changed between the checks and the write)


@dataclass(frozen=True)
class Cast:
    receipt: str
    slug: str  # of the poll (its receipt check page)


@dataclass(frozen=True)
class _Prepared:
    marker: tuple[str, str] | None  # (kind, marker); a code's is checked by its INSERT
    parsed: ParsedBallot


class _PollChanged(Exception):
    """The poll row does not match the copy the ballot was checked against: check again."""


Admit = Callable[[VotingPoll], tuple[str | None, str | None]]  # the caller's checks → (code, token)

def receipt_hash(poll_id: int, receipt: str) -> str:
    return token_hash(f"receipt:{poll_id}:{normalize_code(receipt)}")


def cast_ballot(poll_id: int, answers: dict[str, Any], *, code: str | None = None,
                token: str | None = None) -> str:
    """Count one ballot and return the receipt code (shown once to the voter). ``answers`` by
    question id as the API sends them (``schemas.BallotInput.answers``). The caller found the poll
    public and checked what its mode needs (the captcha)."""
    return _cast(poll_id, answers, lambda _poll: (code, token)).receipt


def cast_public_ballot(poll_id: int, answers: dict[str, Any], *, code: str | None, token: str | None,
                       verify_captcha: Callable[[], None]) -> Cast:
    """The API's ballot: 404 unless the poll is open or closed; ``verify_captcha`` for a poll of
    mode ``Mode.ANYONE`` (at most once, however often the ballot is checked again); in mode
    ``email`` the link's token may come as ``code``."""
    verified: list[bool] = []

    def admit(poll: VotingPoll) -> tuple[str | None, str | None]:
        if poll.status(now()) not in ("open", "closed"):
            raise NotFound()
        if poll.anyone_may_vote and not verified:
            verify_captcha()
            verified.append(True)
        return (code if poll.mode == Mode.CODES else None), token or (code if poll.mode == Mode.EMAIL else None)

    return _cast(poll_id, answers, admit)


def _cast(poll_id: int, answers: dict[str, Any], admit: Admit) -> Cast:
    """Check, then write; from the start again with the poll read now when the copy used was kept
    from before and refuses the ballot, or when the poll changed before the write."""
    poll, fresh = voting_poll(poll_id), False
    for _round in range(MAX_ATTEMPTS + 1):  # the first round may use this process's copy
        try:
            prepared = _prepare(poll, answers, admit)
        except DomainError:
            if fresh:
                raise
            poll, fresh = voting_poll(poll_id, fresh=True), True
            continue
        assert poll is not None  # _prepare refused None
        try:
            return Cast(_write(poll, prepared, fresh=fresh), poll.slug)
        except _PollChanged:
            poll, fresh = voting_poll(poll_id, fresh=True), True
    raise Conflict(_l("Die Umfrage wurde gerade geändert. Bitte versuchen Sie es noch einmal."), code="poll_changed")


def _closed() -> Conflict:
    return Conflict(_l("Die Umfrage ist nicht geöffnet: Es kann nicht abgestimmt werden."), code="poll_closed")


def _prepare(poll: VotingPoll | None, answers: dict[str, Any], admit: Admit) -> _Prepared:
    """Every check that needs no lock: the caller's, status, answers, code or link. No statement
    but for an e-mail link, or for a code given with wrong answers."""
    if poll is None:
        raise NotFound()
    code, token = admit(poll)
    if poll.status(now()) != "open":
        raise _closed()
    answer_errors: dict[str, Any] = {}
    parsed = None
    try:
        parsed = parse_answers(poll.questions, poll.answers, answers)
    except Invalid as exc:
        answer_errors = exc.fields
    errors: dict[str, Any] = {}
    marker = None
    try:
        marker = _participation_marker(poll, code, token, look_up=bool(answer_errors) or parsed is None)
    except Invalid as exc:
        errors.update(exc.fields)
    errors.update(answer_errors)
    if errors or parsed is None:
        raise Invalid(fields=errors)
    return _Prepared(marker, parsed)


_POLL_ROW = (select(Poll.revision, Poll.published, Poll.archived_at, Poll.opens_at, Poll.closes_at)
             .where(Poll.id == bindparam("poll_id")).with_for_update(read=True))
_CODE_MARKER = insert(Participation.__table__).from_select(  # no row: not a code of this poll
    ["id", "poll_id", "kind", "marker"],
    select(bindparam("marker_id", type_=String()), InvitationCode.poll_id, literal("code", String()),
           InvitationCode.code_hash)
    .where(InvitationCode.code_hash == bindparam("marker"), InvitationCode.poll_id == bindparam("poll_id"))
).execution_options(preserve_rowcount=True)  # psycopg's rowcount is gone once the result is closed
_EMAIL_MARKER = insert(Participation.__table__).values(
    id=bindparam("marker_id"), poll_id=bindparam("poll_id"), kind="email", marker=bindparam("marker"))
_EMAIL_LINKS = delete(EmailToken.__table__).where(  # the link and any other open link of the address
    EmailToken.email_hash == bindparam("marker"), EmailToken.purpose == "vote",
    EmailToken.target_id == bindparam("poll_id"))
_PENDING = insert(PendingBallot.__table__).values(
    id=bindparam("pending_id"), poll_id=bindparam("poll_id"), payload=bindparam("payload"),
    receipt_tag=bindparam("receipt_tag"))
_CODE_STATE = (  # (code hash, marker id or None) of a code of the poll
    select(InvitationCode.code_hash, Participation.id)
    .outerjoin(Participation, and_(Participation.poll_id == InvitationCode.poll_id,
                                   Participation.marker == InvitationCode.code_hash))
    .where(InvitationCode.code_hash == bindparam("marker"), InvitationCode.poll_id == bindparam("poll_id")))
_EMAIL_USED = select(Participation.id).where(Participation.poll_id == bindparam("poll_id"),
                                             Participation.marker == bindparam("marker"))


def _at_once(with_code: bool) -> Select:
    """PostgreSQL: the steps of a ballot without an e-mail link as one statement (one round trip
    instead of three): the poll row FOR SHARE, the code's marker (``marked``: 0 = not a code of
    this poll), the pending ballot. Its checks follow in the same transaction."""
    poll = _POLL_ROW.cte("poll")
    columns = [*poll.c, select(func.count()).select_from(_PENDING.returning(literal(1)).cte("pending"))
               .scalar_subquery().label("pending")]
    if with_code:
        marker = _CODE_MARKER.returning(literal(1)).cte("marker")
        columns.append(select(func.count()).select_from(marker).scalar_subquery().label("marked"))
    return select(*columns).select_from(poll)


_AT_ONCE = {kind: _at_once(kind == "code") for kind in ("code", None)}


def _write(poll: VotingPoll, prepared: _Prepared, *, fresh: bool) -> str:
    """The one transaction: poll row FOR SHARE (re-check), marker, encrypted pending ballot.
    Nothing else: the ballot, its receipt and the counters are written later, in a shuffled batch
    (``ballot_batches.flush``), so nothing counted shares this transaction or its order. A poll row
    that refuses a copy kept from before: ``_PollChanged`` (checked again with the poll read now).
    On PostgreSQL a ballot without an e-mail link sends it as one statement; when that fails on a
    constraint (a used code), the steps one by one tell which rule refuses the ballot."""
    receipt = random_code(RECEIPT_LENGTH)
    pending_id = random_id()
    digest = receipt_hash(poll.id, receipt)
    kind, marker = prepared.marker or (None, None)
    values = {"poll_id": poll.id, "pending_id": pending_id, "receipt_tag": ballot_batches.receipt_tag(digest),
              "payload": ballot_batches.seal(poll.id, pending_id, digest, prepared.parsed, poll.questions),
              "marker_id": random_id(), "marker": marker}
    if kind != "email" and is_postgresql():
        try:
            with write_transaction():
                row = db.session.connection().execute(_AT_ONCE[kind], values).one_or_none()
                _check(row, poll, fresh=fresh)
                if kind == "code" and not row.marked:
                    raise _unknown_code()
            return receipt
        except IntegrityError:
            pass
    with write_transaction(*([locks.poll_email(poll.id, marker)] if kind == "email" else [])):
        connection = db.session.connection()
        _check(connection.execute(_POLL_ROW, values).one_or_none(), poll, fresh=fresh)
        if kind is not None:
            _insert_marker(connection, kind, values)
        connection.execute(_PENDING, values)
    return receipt


def _check(row: Row | None, poll: VotingPoll, *, fresh: bool) -> None:
    """The poll row read in the write transaction against the copy the ballot was checked with."""
    if row is None:
        raise NotFound()
    if Poll.status(row, now()) != "open":  # status() reads only these four columns
        if not fresh:
            raise _PollChanged()
        raise _closed()
    if row.revision != poll.revision:
        raise _PollChanged()


def _insert_marker(connection: Connection, kind: str, values: dict[str, Any]) -> None:
    try:
        if kind == "email":
            connection.execute(_EMAIL_LINKS, values)
            connection.execute(_EMAIL_MARKER, values)
        elif connection.execute(_CODE_MARKER, values).rowcount != 1:
            raise _unknown_code()
    except IntegrityError:
        raise _already_voted() from None


def _already_voted() -> Conflict:
    return Conflict(_l("Mit diesem Code oder dieser E-Mail-Adresse wurde schon abgestimmt. "
                       "Jede Person kann nur einmal abstimmen."), code="already_voted")


def _unknown_code() -> Invalid:
    return Invalid(fields={"code": _l("Dieser Code ist für diese Umfrage nicht gültig. Bitte prüfen Sie die Eingabe.")})


def _participation_marker(poll: VotingPoll, code: str | None, token: str | None, *,
                          look_up: bool) -> tuple[str, str] | None:
    """The used-marker this ballot will insert (read-only; the unique constraint decides races).
    A code is looked up only when ``look_up`` (wrong answers: a used code answers 409 first);
    otherwise its INSERT tells an unknown code."""
    if poll.mode == Mode.ANYONE:
        return None
    if poll.mode == Mode.CODES:
        if not code or not normalize_code(code) or len(code) > 40:
            raise Invalid(fields={"code": _l("Bitte geben Sie Ihren Einladungscode ein.")})
        digest = code_hash(code)
        if look_up:
            row = db.session.execute(_CODE_STATE, {"marker": digest, "poll_id": poll.id}).first()
            if row is None:
                raise _unknown_code()
            if row[1] is not None:
                raise _already_voted()
        return ("code", digest)
    # email: a one-time link
    row = db.session.get(EmailToken, token_hash(token)) if token and len(token) <= 100 else None
    if row is None or row.purpose != "vote" or row.target_id != poll.id or row.expires_at <= now():
        raise Conflict(_l("Der Link ist ungültig, abgelaufen oder wurde schon benutzt. "
                          "Bitte fordern Sie einen neuen Link an."), code="link_invalid")
    marker = row.email_hash
    if db.session.scalar(_EMAIL_USED, {"poll_id": poll.id, "marker": marker}):
        raise _already_voted()
    return ("email", marker)


def receipt_status(poll: Poll, receipt: str) -> str | None:
    """``"counted"``, ``"received"`` (its batch is not written yet) or None (``ballot_batches.receipt_status``)."""
    if not receipt or len(receipt) > 40:
        return None
    return ballot_batches.receipt_status(poll.id, receipt_hash(poll.id, receipt))


def receipt_hashes(poll: Poll) -> list[str]:
    """The published receipt list: sorted hashes, so the order reveals nothing."""
    return list(db.session.scalars(select(Receipt.receipt_hash).where(Receipt.poll_id == poll.id)
                                   .order_by(Receipt.receipt_hash)))

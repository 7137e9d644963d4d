"""``core.quick_reads``: a prepared read answers the same typed row on the quick path (a fresh request:
a pooled DBAPI connection in autocommit, no session transaction) and in the session's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select

from citizen_portal.core import quick_reads
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiToken, User
from tests.factories import build_app, make_user

MOMENT = datetime(2026, 3, 2, 9, 0, 30, 123000, tzinfo=UTC)
TOKEN_AND_PERSON = quick_reads.Prepared(
    select(ApiToken.name, ApiToken.expires_at, ApiToken.revoked_at, User.username, User.active)
    .join_from(ApiToken, User, User.id == ApiToken.user_id).where(ApiToken.name == bindparam("name")))


def test_both_paths_answer_the_same_typed_row(fresh_database_url, tmp_path, monkeypatch):
    quick: list[str] = []
    real = quick_reads.autocommit_row
    monkeypatch.setattr(quick_reads, "autocommit_row", lambda *args: quick.append(args[1]) or real(*args))
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        user = make_user("anna")
        db.session.flush()
        db.session.add(ApiToken(user_id=user.id, name="script", token_hash="h" * 64, created_at=MOMENT,
                                expires_at=MOMENT + timedelta(days=1)))
        db.session.commit()
        db.session.remove()

        fresh = TOKEN_AND_PERSON.first(name="script")  # a fresh request: the quick path
        assert len(quick) == 1
        assert TOKEN_AND_PERSON.first(name="script") == fresh  # typed once per distinct row, same values
        assert TOKEN_AND_PERSON.first(name="nothing") is None
        assert len(quick) == 3
        db.session.execute(select(1))  # now in the session's transaction
        in_transaction = TOKEN_AND_PERSON.first(name="script")
        assert len(quick) == 3
        assert fresh == in_transaction == ("script", MOMENT + timedelta(days=1), None, "anna", True)
        assert fresh[1].tzinfo is not None and isinstance(fresh[4], bool)
        db.session.remove()
        db.engine.dispose()

"""Quick reads: the one row of a small read-only statement run on every request (a cache's validation,
a token check), without the cost of a session transaction and SQLAlchemy's execution machinery.

Rules:
- Outside a transaction on an engine-bound session (a request that has not touched the database yet)
  the statement runs in autocommit mode on a pooled DBAPI connection: no BEGIN/ROLLBACK round trips,
  no session transaction. SQLite's connections run without implicit transactions
  (``core.database``); psycopg's is switched to autocommit for the statement.
- Otherwise it runs in the session's transaction (which sees its own uncommitted writes, e.g. in
  tests, where the session is bound to one connection).
- ``precompiled(columns)``: a select of fixed values rendered once with its values inline;
  ``Prepared(statement)``: a select with bound parameters compiled once per dialect, its results
  typed by the columns' types on either path (so both paths answer the same values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Engine, Select, TextualSelect, column, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from citizen_portal.core.extensions import db


def one_row(statement) -> tuple:
    """The one row of ``statement`` (a select without parameters; see the module docstring for where it
    runs). A precompiled statement (``precompiled``) without ``%`` goes straight to the DBAPI."""
    session = db.session()  # the scoped session of this context
    bind = session.get_bind()
    if isinstance(bind, Engine) and not session.in_transaction():
        if isinstance(statement, TextualSelect) and "%" not in statement.element.text:
            row = autocommit_row(bind, statement.element.text)
            if row is None:
                raise LookupError("no row")
            return row
        with bind.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            return connection.execute(statement).one()
    return session.connection().execute(statement).one()


def autocommit_row(engine: Engine, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> tuple | None:
    """The first row of ``sql`` (``None`` without one) on a pooled DBAPI connection in autocommit mode.
    Without ``parameters`` a ``%`` would be read by pyformat drivers as a placeholder: callers
    exclude it; with them, ``sql`` is in the driver's paramstyle (``Prepared`` compiles it so)."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        switch = getattr(driver, "autocommit", None) is False
        if switch:
            driver.autocommit = True
        try:
            cursor = raw.cursor()
            if parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            row = cursor.fetchone()
            cursor.close()
        finally:
            if switch:
                driver.autocommit = False
    finally:
        raw.close()
    return None if row is None else tuple(row)


def precompiled(columns: list) -> Any:
    """``select(*columns)`` rendered once with its values inline, as a typed text statement: run on
    every hit, it skips SQLAlchemy's per-execution expansion of ``IN`` lists. The values are ids, dates
    and keys the dialect quotes itself; anything it cannot render inline keeps the plain statement."""
    statement = select(*columns)
    try:
        sql = str(statement.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # a type without a literal form: the plain statement works too
        return statement
    return text(sql).columns(*(column(f"v{index}", item.type) for index, item in enumerate(columns)))


Processor = Callable[[Any], Any] | None


class _Compiled(NamedTuple):
    sql: str  # in the driver's paramstyle
    order: tuple[str, ...] | None  # the parameters' names in their places (positional paramstyles)
    binds: dict[str, Processor]
    results: tuple[Processor, ...]
    shared: bool  # every column of an ``IMMUTABLE`` type


class Prepared:
    """A select with bound parameters, compiled once per dialect; ``first(**values)`` is its first row
    (``None`` without one) with every value typed as the session would type it (once per distinct
    row when every column is of an ``IMMUTABLE`` type)."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                     for name, bind in ((b.key, b) for b in compiled.binds.values())}
            results = tuple(item.type.dialect_impl(dialect).result_processor(dialect, None)
                            for item in self.statement.selected_columns)
            shared = all(_immutable(item.type) for item in self.statement.selected_columns)
            found = self._compiled[dialect.name] = _Compiled(str(compiled), order, binds, results, shared)
        return found

    def first(self, **values: Any) -> tuple | None:
        session = db.session()
        bind = session.get_bind()
        if not (isinstance(bind, Engine) and not session.in_transaction()):
            row = session.connection().execute(self.statement, values).first()
            return None if row is None else tuple(row)
        sql, order, binds, results, shared = self._for(bind.dialect)
        typed = {name: (binds[name](value) if binds.get(name) else value) for name, value in values.items()}
        row = autocommit_row(bind, sql, tuple(typed[name] for name in order) if order is not None else typed)
        if row is None:
            return None
        return _typed_once(results, row) if shared else _typed(results, row)


IMMUTABLE = (bool, int, float, Decimal, str, bytes, date, datetime, time)


def _immutable(type_: TypeEngine) -> bool:
    if isinstance(type_, TypeDecorator):  # e.g. ``UTCDateTime``: its values are of its implementation's type
        type_ = type_.impl_instance
    try:
        return type_.python_type in IMMUTABLE
    except NotImplementedError:
        return False


def _typed(results: tuple[Processor, ...], row: tuple) -> tuple:
    return tuple(process(value) if process else value for process, value in zip(results, row, strict=True))


@lru_cache(maxsize=256)
def _typed_once(results: tuple[Processor, ...], row: tuple) -> tuple:
    """``_typed`` once per distinct row: a row read on every request (a token) is mostly the same as the
    last time, and typing it (parsing SQLite's date-time text) costs more than the statement. Only for
    rows of immutable values (``IMMUTABLE``), which every caller may share."""
    return _typed(results, row)

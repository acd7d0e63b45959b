"""Telling "the metadata store is down" apart from every other database error.

Why: when PostgreSQL restarts, fails over or is unreachable, every request that touches the store fails with a
driver error. Left alone, those become bare 500s (and CLI tracebacks), which monitoring reads as a bug and clients
do not retry. A store outage is instead a 503 with `Retry-After`, and one line in the CLI; once the store is back,
the engine's `pool_pre_ping` drops the dead pooled connections and the next request simply works. Errors that are
not about reachability (a missing table, bad SQL) stay what they are: a bug to report, not a reason to retry.

What counts as an outage:
* SQLAlchemy marked the connection invalidated (it saw the disconnect itself);
* a SQLSTATE of class 08 (connection exception), 57 (operator intervention: admin shutdown, crash shutdown,
  cannot connect now) or 53 (insufficient resources: too many connections, disk full);
* an `OperationalError` or `InterfaceError` without a SQLSTATE (connection refused, timed out, closed), except
  SQLite's own schema and syntax complaints, which also arrive as `OperationalError`.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

RETRY_AFTER_SECONDS = 5
CLIENT_MESSAGE = "the metadata store is unavailable; nothing was changed, try again shortly"
_OUTAGE_SQLSTATE_CLASSES = {"08", "53", "57"}
_SQLITE_NOT_OUTAGE = ("no such ", "syntax error", "table ", "near ")


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of the driver error: psycopg names it `sqlstate`, psycopg2 `pgcode`."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_store_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the store could not be reached or dropped the connection (see the module docstring)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state:
        return state[:2] in _OUTAGE_SQLSTATE_CLASSES
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    message = str(exc.orig).strip().lower()
    return not message.startswith(_SQLITE_NOT_OUTAGE)

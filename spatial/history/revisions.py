"""Plan revisions: named, published states of the plan with their legal basis (migration 0015).

A revision is an instant (`published_at`) with a name, the decision it rests on, the decision's date and a note:
the plan of revision r is the plan as the feature history had it then (`spatial.history.asof`), so recording a
revision copies nothing and any two revisions (or any two instants) can be compared (`spatial.history.diff`).
The bundled plan (Decision 686/QĐ-TTg) is revision 1: `lapis db seed` records it once it has loaded the data, or
migration 0015 when the plan was loaded before it.

`resolve` reads what a client names as a point in the plan's history — a revision id or an RFC 3339 instant — as an
`Instant`, the one currency the diff and the change log take. Recording a revision runs with the caller's rights:
approvers may INSERT, and nobody the app acts as may UPDATE or DELETE one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import psycopg
from psycopg.rows import dict_row

from spatial.errors import Conflict, InvalidParameter, NotFound
from spatial.history.asof import parse_asof

REVISION_ID = re.compile(r"^[0-9]{1,18}$")
COLUMNS = "id, name, legal_basis, decided_on, note, published_at, created_by"
INSERT_SQL = (f"INSERT INTO revisions (name, legal_basis, decided_on, note, created_by) "
              f"VALUES ($1, $2, $3, $4, coalesce(nullif(current_setting('lapis.user', true), ''), current_user)) "
              f"RETURNING {COLUMNS}")
# the revision before another: the latest published earlier (ties by id)
PREVIOUS_SQL = (f"SELECT {COLUMNS} FROM revisions WHERE (published_at, id) < ($1, $2) "
                "ORDER BY published_at DESC, id DESC LIMIT 1")
MAX_TEXT = {"name": 300, "legal_basis": 500, "note": 4000}
UNIQUE = "23505"


@dataclass(frozen=True)
class RevisionInput:
    """What a steward gives a new revision (texts NFC-normalised, trimmed)."""

    name: str
    legal_basis: str
    decided_on: date | None = None
    note: str | None = None


# The bundled plan, revision 1 (migration 0015 writes the same when it finds the plan already loaded)
BUNDLED = RevisionInput("Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050",
                        "Decision 686/QĐ-TTg, 13/06/2023", date(2023, 6, 13),
                        "The plan as approved (the bundled data)")


@dataclass(frozen=True)
class Revision:
    id: int
    name: str
    legal_basis: str
    decided_on: date | None
    note: str | None
    published_at: datetime  # the instant the revision fixes
    created_by: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "legal_basis": self.legal_basis,
                "decided_on": self.decided_on.isoformat() if self.decided_on else None, "note": self.note,
                "published_at": self.published_at.isoformat(), "created_by": self.created_by}


@dataclass(frozen=True)
class Instant:
    """A point in the plan's history as a client named it: a revision (its `published_at`) or an instant."""

    at: datetime
    revision: Revision | None = None

    def as_json(self) -> dict[str, Any]:
        return {"instant": self.at.isoformat(), "revision": self.revision.id if self.revision else None}

    @property
    def label(self) -> str:
        """How links name it again: the revision id, or the instant."""
        return str(self.revision.id) if self.revision else self.at.isoformat()


def _text(obj: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(f"{key}: a non-empty text is needed", parameter=key)
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > MAX_TEXT[key]:
        raise InvalidParameter(f"{key}: at most {MAX_TEXT[key]} characters", parameter=key)
    if "\x00" in value:
        raise InvalidParameter(f"{key}: contains a NUL character", parameter=key)
    return value


def parse_day(value: Any, parameter: str = "decided_on") -> date | None:
    """A decision's date: YYYY-MM-DD (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidParameter(f"{parameter}: {value!r} is not a date (YYYY-MM-DD)", parameter=parameter)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidParameter(f"{parameter}: {value!r} is not a date ({exc})", parameter=parameter) from None


def revision_input(obj: Any) -> RevisionInput:
    """A revision's fields from a JSON object {name, legal_basis, decided_on?, note?} (InvalidParameter)."""
    if not isinstance(obj, dict):
        raise InvalidParameter("body: a JSON object {name, legal_basis, decided_on, note}", parameter="body")
    unknown = sorted(set(obj) - {"name", "legal_basis", "decided_on", "note"})
    if unknown:
        raise InvalidParameter(f"{unknown[0]}: not a field of a revision (name, legal_basis, decided_on, note)",
                               parameter=unknown[0])
    name, basis = _text(obj, "name", required=True), _text(obj, "legal_basis", required=True)
    assert name is not None and basis is not None  # required
    return RevisionInput(name, basis, parse_day(obj.get("decided_on")), _text(obj, "note", required=False))


def _revision(row: Any) -> Revision:
    return Revision(row["id"], row["name"], row["legal_basis"], row["decided_on"], row["note"],
                    row["published_at"], row["created_by"])


def _taken(name: str) -> Conflict:
    return Conflict(f"name: a revision named {name!r} exists; revision names are unique", parameter="name")


async def create_revision(conn: asyncpg.Connection, given: RevisionInput) -> Revision:
    """Record a revision fixing the plan as it stands (run inside `as_caller`: the approver's rights and name)."""
    try:
        row = await conn.fetchrow(INSERT_SQL, given.name, given.legal_basis, given.decided_on, given.note)
    except asyncpg.UniqueViolationError:
        raise _taken(given.name) from None
    return _revision(row)


def create_revision_sync(conn: psycopg.Connection, given: RevisionInput) -> Revision:
    """The same on psycopg (`lapis revision create`, the seed): recorded as the connection's role."""
    sql = INSERT_SQL.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s").replace("$4", "%s")
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(sql, (given.name, given.legal_basis, given.decided_on, given.note)).fetchone()
    except psycopg.errors.UniqueViolation:
        raise _taken(given.name) from None
    return _revision(row)


def record_bundled(conn: psycopg.Connection) -> Revision | None:
    """Revision 1 for the bundled plan, unless some revision is recorded already (the seed is idempotent)."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM revisions)").fetchone()[0]:  # type: ignore[index]
        return None
    return create_revision_sync(conn, BUNDLED)


def list_revisions_sync(conn: psycopg.Connection) -> list[Revision]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [_revision(r) for r in cur.execute(f"SELECT {COLUMNS} FROM revisions ORDER BY published_at, id")]


async def list_revisions(conn: asyncpg.Connection) -> list[Revision]:
    """Every revision, oldest first."""
    return [_revision(r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM revisions ORDER BY published_at, id")]


def parse_revision_id(text: str, parameter: str = "revisionId") -> int:
    if not REVISION_ID.match(text):
        raise NotFound(f"no revision {text!r}: a revision is named by its number", parameter=parameter)
    return int(text)


async def get_revision(conn: asyncpg.Connection, revision_id: int, parameter: str = "revisionId") -> Revision:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM revisions WHERE id = $1", revision_id)
    if row is None:
        raise NotFound(f"no revision {revision_id}", parameter=parameter)
    return _revision(row)


def revision_instant_sync(conn: psycopg.Connection, revision_id: int, parameter: str = "--revision") -> datetime:
    """The instant revision `revision_id` fixes (NotFound naming `parameter` when there is no such revision)."""
    row = conn.execute("SELECT published_at FROM revisions WHERE id = %s", (revision_id,)).fetchone()
    if row is None:
        raise NotFound(f"{parameter}: no revision {revision_id}", parameter=parameter)
    return row[0]


def parse_revision_number(text: str | None, parameter: str = "revision") -> int | None:
    """A revision named in a query or an option: its number (InvalidParameter naming `parameter` otherwise)."""
    if text is None:
        return None
    if not REVISION_ID.match(text.strip()):
        raise InvalidParameter(f"{parameter}: {text!r} is not a revision number (e.g. 1)",
                               parameter=parameter)
    return int(text.strip())


async def previous_revision(conn: asyncpg.Connection, revision: Revision) -> Revision | None:
    """The revision before `revision` (None for the first)."""
    row = await conn.fetchrow(PREVIOUS_SQL, revision.published_at, revision.id)
    return _revision(row) if row is not None else None


async def resolve(conn: asyncpg.Connection, text: str, parameter: str) -> Instant:
    """A revision id (its published instant; NotFound when there is none) or an RFC 3339 instant (not in the future:
    InvalidParameter otherwise)."""
    value = text.strip()
    if REVISION_ID.match(value):
        return Instant((revision := await get_revision(conn, int(value), parameter)).published_at, revision)
    if not value[:1].isdigit():
        raise InvalidParameter(f"{parameter}: {text!r} is neither a revision number nor an RFC 3339 date-time",
                               parameter=parameter)
    instant = parse_asof(value, parameter)
    assert instant is not None  # a text was given
    return Instant(instant)


def check_order(start: Instant, end: Instant, parameters: tuple[str, str] = ("from", "to")) -> None:
    """A span runs forward: its start not after its end."""
    if start.at > end.at:
        raise InvalidParameter(f"{parameters[0]} ({start.label}) is after {parameters[1]} ({end.label}); give the "
                               "earlier one first", parameter=parameters[0])

"""The open change log: every published change to the plan — each version the history recorded (migration 0014) —
newest first, filtered and paged by version number.

Only the plan tables' history is read, and the plan tables hold only published data (a proposal's changes reach
them when it is published), so nothing of an open proposal ever shows here. One statement: per layer, the page's
versions (keyset on `version`, one sequence for every layer, so versions order the changes of all layers alike),
each with the version before it (what a deletion deleted, which attributes an update changed), merged in version
order.

Who made a change is recorded exactly (the LAPIS user, or the database role); what the public sees of it is a
`Disclosure`: the name, the role, or only the office that keeps the plan (LAPIS_CHANGES_PUBLIC_WHO).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import asyncpg

from spatial.history.asof import history_table
from spatial.history.columns import attribute_changes_sql, geometry_changed_sql, history_columns
from spatial.registry import Layer
from spatial.sqlbuild import Params

WhoShown = Literal["name", "role", "office"]
# the role a database role acts as; any other role (the owner, a steward's own login) changed the data directly
ROLE_OF = {"lapis_reader": "viewer", "lapis_editor": "editor", "lapis_approver": "approver", "lapis_admin": "admin"}
DIRECT = "steward"
BRANCH_SQL = """(SELECT h.version, {name}::text AS layer, h.id, h.operation, h.valid_from, h.who, h.db_role,
        h.proposal, h.reason, coalesce(h.code, p.code) AS code, coalesce(h.name_vi, p.name_vi) AS name_vi,
        coalesce(h.name_en, p.name_en) AS name_en,
        CASE WHEN h.operation = 'update' THEN ARRAY(
            SELECT k FROM jsonb_object_keys({attributes}) k
            UNION ALL SELECT 'geometry' WHERE {geometry_changed} ORDER BY 1) END AS changed
 FROM (SELECT * FROM {h} x WHERE {where} ORDER BY x.version {direction} LIMIT {limit}) h
 LEFT JOIN LATERAL (SELECT * FROM {h} y WHERE y.id = h.id AND y.version < h.version
                    ORDER BY y.version DESC LIMIT 1) p ON true)"""


@dataclass(frozen=True)
class Disclosure:
    """What a reader of the change log sees of who made a change: `name` (the user, or the database role of a
    change made directly), `role` (editor, approver, admin, or steward for a direct change) or `office` (the office
    that keeps the plan, for every change)."""

    shown: WhoShown
    office: str

    @property
    def names(self) -> bool:
        return self.shown == "name"

    def describe(self, who: str, db_role: str) -> dict[str, str]:
        role = ROLE_OF.get(db_role, DIRECT)
        if self.shown == "name":
            return {"who": who, "role": role}
        if self.shown == "role":
            return {"who": role, "role": role}
        return {"who": self.office}


@dataclass(frozen=True)
class ChangeQuery:
    """The filters and the page: changes after `start` up to `end` (either open), before/after a version."""

    layers: tuple[Layer, ...]
    feature: int | None = None
    user: str | None = None
    proposal: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    before: int | None = None  # older than this version (the `next` page)
    after: int | None = None  # newer than this version (the `prev` page)
    limit: int = 50


@dataclass(frozen=True)
class Change:
    version: int
    layer: str
    feature_id: int
    operation: str  # insert | update | delete
    valid_from: datetime
    who: str
    db_role: str
    proposal: int | None
    reason: str | None
    code: str | None
    name_vi: str | None
    name_en: str | None
    changed: tuple[str, ...] | None  # an update's changed attributes ("geometry" for the geometry)

    def as_json(self, disclosure: Disclosure) -> dict[str, Any]:
        return {"version": self.version, "collection": self.layer, "featureId": self.feature_id,
                "operation": self.operation, "time": self.valid_from.isoformat(), "code": self.code,
                "name_vi": self.name_vi, "name_en": self.name_en, **disclosure.describe(self.who, self.db_role),
                "proposal": self.proposal, "reason": self.reason,
                "changed": list(self.changed) if self.changed is not None else None}


@dataclass
class ChangePage:
    changes: list[Change]  # newest first
    next_before: int | None  # the `before` of the next (older) page
    prev_after: int | None  # the `after` of the previous (newer) page


def _conditions(query: ChangeQuery, params: Params) -> str:
    where = []
    if query.feature is not None:
        where.append(f"x.id = {params.add(query.feature, 'bigint')}")
    if query.user is not None:
        where.append(f"x.who = {params.add(query.user, 'text')}")
    if query.proposal is not None:
        where.append(f"x.proposal = {params.add(query.proposal, 'bigint')}")
    if query.start is not None:
        where.append(f"x.valid_from > {params.add(query.start, 'timestamptz')}")
    if query.end is not None:
        where.append(f"x.valid_from <= {params.add(query.end, 'timestamptz')}")
    return " AND ".join(where) or "true"


def changes_sql(query: ChangeQuery, columns: dict[str, tuple[str, ...]], params: Params, *, newer: bool,
                after: int | None, before: int | None, limit: int) -> str:
    """The statement of a page: the changes matching `query` between the versions `after` and `before` (either
    open), the newest `limit` (or with `newer`, the oldest: the page before another)."""
    where = _conditions(query, params)
    if before is not None:
        where += f" AND x.version < {params.add(before, 'bigint')}"
    if after is not None:
        where += f" AND x.version > {params.add(after, 'bigint')}"
    direction = "ASC" if newer else "DESC"
    size = params.add(limit, "int")
    branches = [BRANCH_SQL.format(name=params.add(layer.id, "text"), h=history_table(layer), where=where,
                                  direction=direction, limit=size,
                                  attributes=attribute_changes_sql("p", "h", columns[layer.id]),
                                  geometry_changed=geometry_changed_sql("p", "h", columns[layer.id]))
                for layer in query.layers]
    return "\nUNION ALL\n".join(branches) + f"\nORDER BY version {direction} LIMIT {size}"


def _change(row: Any) -> Change:
    return Change(row["version"], row["layer"], row["id"], row["operation"], row["valid_from"], row["who"],
                  row["db_role"], row["proposal"], row["reason"], row["code"], row["name_vi"], row["name_en"],
                  tuple(row["changed"]) if row["changed"] is not None else None)


async def _fetch(conn: asyncpg.Connection, query: ChangeQuery, columns: dict[str, tuple[str, ...]], *, newer: bool,
                 after: int | None, before: int | None, limit: int) -> list[Change]:
    params = Params()
    sql = changes_sql(query, columns, params, newer=newer, after=after, before=before, limit=limit)
    return [_change(row) for row in await conn.fetch(sql, *params.values)]


async def fetch_changes(conn: asyncpg.Connection, query: ChangeQuery) -> ChangePage:
    """A page of the change log, newest first, with where the pages beside it start."""
    columns = await history_columns(conn)
    query = replace(query, layers=tuple(layer for layer in query.layers if layer.id in columns))
    if not query.layers:
        return ChangePage([], None, None)
    newer = query.after is not None and query.before is None
    rows = await _fetch(conn, query, columns, newer=newer, after=query.after, before=query.before,
                        limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    if newer:
        rows.reverse()
    if not rows:
        return ChangePage([], None, None)
    older = more if not newer else bool(await _fetch(conn, query, columns, newer=False, after=None,
                                                     before=rows[-1].version, limit=1))
    newest = more if newer else (query.before is not None or query.after is not None) and bool(
        await _fetch(conn, query, columns, newer=True, after=rows[0].version, before=None, limit=1))
    return ChangePage(rows, rows[-1].version if older else None, rows[0].version if newest else None)

"""Proposals: open, list, read, publish and reject them.

Every function runs as the caller (`spatial.session.as_caller`), so row-level security (migration 0012) decides
what they see: an editor their own proposals, an approver all. `publish` applies every change of a proposal to the
plan tables in one transaction as the approver, with `lapis.proposal` set (history records which proposal made a
change): all of them, or — when a feature moved since it was proposed, or a rule of the layer refuses a row —
none (`spatial.edits.publishing`). It records who decided and when, as `reject` does.

`open_proposal_sync` is `open_proposal` for a psycopg connection (an import job outside the event loop).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
import psycopg

from spatial.edits.publishing import Applied, apply_proposal
from spatial.errors import Conflict, Forbidden, InvalidParameter, NotFound
from spatial.identity.model import Identity, Role
from spatial.layers import LAYERS
from spatial.registry import Registry
from spatial.session import as_caller, as_caller_sync

STATES = ("open", "published", "rejected")
TITLE_MAX = 300
PROPOSAL_COLUMNS = ("p.id, p.title, p.author, p.state, p.created_at, p.decided_by, p.decided_at, p.note, "
                    "(SELECT count(*) FROM proposal_changes c WHERE c.proposal_id = p.id) AS changes")
INSERT = "INSERT INTO proposals (title, author, note) VALUES ($1, $2, $3) RETURNING id"


@dataclass(frozen=True)
class Proposal:
    id: int
    title: str | None
    author: str
    state: str
    created_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    changes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "author": self.author, "state": self.state,
                "createdAt": _iso(self.created_at), "decidedBy": self.decided_by,
                "decidedAt": _iso(self.decided_at), "note": self.note, "changeCount": self.changes}


@dataclass(frozen=True)
class Change:
    id: int
    layer: str
    feature_id: int
    op: str
    base_etag: str | None
    created_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "layer": self.layer, "featureId": self.feature_id, "op": self.op,
                "baseEtag": None if self.base_etag is None else f'"{self.base_etag}"',
                "createdAt": _iso(self.created_at)}


@dataclass(frozen=True)
class Published:
    proposal: Proposal
    applied: dict[str, Applied]  # per layer: features created, changed and deleted


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _proposal(row: Any) -> Proposal:
    return Proposal(row["id"], row["title"], row["author"], row["state"], row["created_at"], row["decided_by"],
                    row["decided_at"], row["note"], row["changes"])


def _text(value: str | None, name: str) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > TITLE_MAX:
        raise InvalidParameter(f"{name}: at most {TITLE_MAX} characters", parameter=name)
    return unicodedata.normalize("NFC", value.strip())


def _signed_in(identity: Identity, role: Role = Role.editor) -> str:
    if identity.user is None or not identity.at_least(role):
        raise Forbidden(f"proposals need the {role.value} role")
    return identity.user


async def advisory_lock(conn: asyncpg.Connection, key: str) -> None:
    """A transaction-level lock on `key` (a feature, a code, a caller's proposals): writes to the same key wait."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def _open_row(conn: asyncpg.Connection, proposal_id: int) -> None:
    """Lock an open proposal the caller may see: NotFound if they cannot see it, Conflict when it is decided."""
    state = await conn.fetchval("SELECT state FROM proposals WHERE id = $1", proposal_id)
    if state is None:
        raise NotFound(f"no proposal {proposal_id} (or not one of yours)", parameter="proposal")
    if state != "open" or await conn.fetchval(
            "SELECT id FROM proposals WHERE id = $1 AND state = 'open' FOR UPDATE", proposal_id) is None:
        state = await conn.fetchval("SELECT state FROM proposals WHERE id = $1", proposal_id)
        raise Conflict(f"proposal {proposal_id} is {state}: nothing can change in it any more", parameter="proposal")


async def proposal_for_write(conn: asyncpg.Connection, identity: Identity, requested: int | None) -> int:
    """In the caller's transaction: the open proposal a write goes into, locked — `requested`, else the caller's
    latest open one, else a new one."""
    user = _signed_in(identity)
    if requested is not None:
        await _open_row(conn, requested)
        return requested
    await advisory_lock(conn, f"lapis:proposals-of:{user}")
    found = await conn.fetchval("SELECT id FROM proposals WHERE author = $1 AND state = 'open' "
                                "ORDER BY id DESC LIMIT 1 FOR UPDATE", user)
    return found if found is not None else await conn.fetchval(INSERT, f"Edits by {user}", user, None)


async def open_proposal(conn: asyncpg.Connection, identity: Identity, title: str | None,
                        note: str | None = None) -> int:
    """A new open proposal of the caller; its id."""
    user = _signed_in(identity)
    async with as_caller(conn, identity):
        return await conn.fetchval(INSERT, _text(title, "title"), user, _text(note, "note"))


def open_proposal_sync(conn: psycopg.Connection, identity: Identity, title: str | None,
                       note: str | None = None) -> int:
    """`open_proposal` on a psycopg connection (in its transaction, or one of its own)."""
    user = _signed_in(identity)
    with as_caller_sync(conn, identity):
        row = conn.execute(INSERT.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s"),
                           (_text(title, "title"), user, _text(note, "note"))).fetchone()
    assert row is not None
    return int(row[0])


async def list_proposals(conn: asyncpg.Connection, identity: Identity, state: str | None = None) -> list[Proposal]:
    """The proposals the caller may see (an editor's own, every one for an approver), newest first."""
    _signed_in(identity)
    if state is not None and state not in STATES:
        raise InvalidParameter(f"state: one of {', '.join(STATES)}", parameter="state")
    async with as_caller(conn, identity):
        rows = await conn.fetch(f"SELECT {PROPOSAL_COLUMNS} FROM proposals p WHERE $1::text IS NULL OR p.state = $1 "
                                "ORDER BY p.id DESC", state)
    return [_proposal(r) for r in rows]


async def _visible(conn: asyncpg.Connection, proposal_id: int) -> Proposal:
    row = await conn.fetchrow(f"SELECT {PROPOSAL_COLUMNS} FROM proposals p WHERE p.id = $1", proposal_id)
    if row is None:
        raise NotFound(f"no proposal {proposal_id} (or not one of yours)", parameter="proposalId")
    return _proposal(row)


async def get_proposal(conn: asyncpg.Connection, identity: Identity, proposal_id: int) -> tuple[Proposal, list[Change]]:
    """A proposal the caller may see, with its changes in the order they were last made."""
    _signed_in(identity)
    async with as_caller(conn, identity):
        proposal = await _visible(conn, proposal_id)
        rows = await conn.fetch("SELECT id, layer, feature_id, op, base_etag, created_at FROM proposal_changes "
                                "WHERE proposal_id = $1 ORDER BY created_at, id", proposal_id)
    return proposal, [Change(r["id"], r["layer"], r["feature_id"], r["op"], r["base_etag"], r["created_at"])
                      for r in rows]


async def can_preview(conn: asyncpg.Connection, identity: Identity, proposal_id: int) -> Proposal:
    """The proposal, if the caller may preview it (its author, or an approver): NotFound otherwise."""
    _signed_in(identity)
    async with as_caller(conn, identity):
        return await _visible(conn, proposal_id)


async def changed_features(conn: asyncpg.Connection, identity: Identity, proposal_id: int,
                           registry: Registry = LAYERS) -> str:
    """The proposal's changed features as a GeoJSON FeatureCollection (CRS84): each as the proposal would publish
    it — a deleted one with its published geometry —, with `lapis:layer`, `lapis:featureId` and `lapis:op`."""
    _signed_in(identity)
    published = " ".join(f"WHEN '{layer.id}' THEN (SELECT t.geom FROM {layer.id} t WHERE t.id = c.feature_id)"
                         for layer in registry.spatial)
    geometry = f"CASE c.layer {published} END" if published else "NULL::geometry"
    async with as_caller(conn, identity):
        await _visible(conn, proposal_id)
        return await conn.fetchval(f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', c.layer || '.' || c.feature_id,
                'geometry', ST_AsGeoJSON(coalesce(c.geom, {geometry}), 7, 0)::json,
                'properties', coalesce(c.properties -> 'props', '{{}}') || coalesce(c.properties - 'props', '{{}}')
                    || jsonb_build_object('lapis:layer', c.layer, 'lapis:featureId', c.feature_id, 'lapis:op', c.op)
            ) ORDER BY c.created_at, c.id), '[]'))::text
            FROM proposal_changes c WHERE c.proposal_id = $1""", proposal_id)


def _approver(identity: Identity) -> str:
    return _signed_in(identity, Role.approver)


async def publish(conn: asyncpg.Connection, proposal_id: int, identity: Identity,
                  registry: Registry = LAYERS) -> Published:
    """Apply every change of an open proposal to the plan tables, all or none, and mark it published by the
    approver `identity`. Conflict (nothing applied) when a feature moved since it was proposed."""
    user = _approver(identity)
    async with as_caller(conn, replace(identity, proposal=proposal_id)):
        await _open_row(conn, proposal_id)
        applied = await apply_proposal(conn, registry, proposal_id)
        await conn.execute("UPDATE proposals SET state = 'published', decided_by = $2, decided_at = now() "
                           "WHERE id = $1", proposal_id, user)
        proposal = await _visible(conn, proposal_id)
    return Published(proposal, applied)


async def reject(conn: asyncpg.Connection, proposal_id: int, identity: Identity, note: str | None = None) -> Proposal:
    """Mark an open proposal rejected by the approver `identity` (with an optional note): nothing of it is applied."""
    user = _approver(identity)
    async with as_caller(conn, replace(identity, proposal=proposal_id)):
        await _open_row(conn, proposal_id)
        await conn.execute("UPDATE proposals SET state = 'rejected', decided_by = $2, decided_at = now(), "
                           "note = coalesce($3, note) WHERE id = $1", proposal_id, user, _text(note, "note"))
        return await _visible(conn, proposal_id)

"""`propose_change`: one create, replace, update (JSON Merge Patch) or delete of a feature, written into a proposal.

All in one transaction as the caller (`as_caller`: their group role, `lapis.user`, `lapis.proposal`), in this order:
1. the proposal: the one named (it must be open and the caller's, or any open one for an approver), else the
   caller's latest open proposal, else a new one — locked, so a publish waits for the write and a write for a
   publish, and one caller never opens two at once;
2. the feature, locked (`pg_advisory_xact_lock`) so that two writes to it follow one another: a create draws its
   id from the layer's identity sequence; any other change needs the feature as the proposal sees it (404), an
   `If-Match` (428) naming its current version (412), and no change of it in another open proposal (409);
3. the new row: the feature's stored values under the request's (`feature_input`), checked against the layer's
   own NOT NULL and CHECK rules (400) and unique keys, published or proposed (409);
4. the change: inserted, or merged into this proposal's change of the feature (a created feature stays a create;
   deleting it drops the change). `base_etag` stays the published version the first change was made against.

The plan tables are never written here: public reads do not change until an approver publishes.
A bulk import writes its changes the same way with one `INSERT INTO proposal_changes … SELECT` from its stage: the
`properties` of a row `x` of the layer's shape are `etag.values_sql(layer, 'x')`, new ids `new_feature_id_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import orjson

from spatial.crs import DEFAULT
from spatial.edits.etag import etag_sql, if_match_passes, managed_columns, quoted, values_sql
from spatial.edits.feature_input import CRS84_INPUT, Candidate, InputCrs, feature_candidate, merge_patch
from spatial.edits.preview import preview_source_sql
from spatial.edits.proposals import advisory_lock, proposal_for_write
from spatial.errors import (
    Conflict,
    Forbidden,
    InvalidGeometry,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from spatial.features import feature_sql
from spatial.identity.model import Identity
from spatial.registry import Layer
from spatial.session import as_caller

Op = Literal["create", "replace", "update", "delete"]


@dataclass(frozen=True)
class Edit:
    """What a request asks: `body` is a GeoJSON Feature (create, replace), a merge patch (update) or None."""

    op: Op
    layer: Layer
    feature_id: int | None = None
    body: Any = None
    crs: InputCrs = CRS84_INPUT
    if_match: str | None = None


@dataclass(frozen=True)
class ChangeResult:
    proposal_id: int
    feature_id: int
    op: Op  # what the proposal now holds for the feature (a created feature stays "create")
    etag: str | None  # its version as the proposal would publish it (None: deleted)
    feature: str | None  # its GeoJSON (CRS84) as the proposal would publish it


@dataclass(frozen=True)
class _Current:
    feature: dict[str, Any]  # as GET shows it (CRS84)
    text: str  # the same, as PostgreSQL wrote it
    etag: str
    values: str  # the stored values (jsonb text)
    props: dict[str, Any]
    wkb: bytes | None


def new_feature_id_sql(layer: Layer) -> str:
    """SQL: a new id from the layer's identity sequence (a created feature's id, known when it is proposed)."""
    return f"nextval(pg_get_serial_sequence('{layer.id}', 'id'))"


async def _current(conn: asyncpg.Connection, layer: Layer, feature_id: int, source: str) -> _Current | None:
    wkb = "ST_AsBinary(t.geom)" if layer.has_geometry else "NULL::bytea"
    row = await conn.fetchrow(
        f"SELECT {feature_sql(layer, DEFAULT, None)} AS feature, {etag_sql(layer, 't')} AS etag, "
        f"{values_sql(layer, 't')}::text AS vals, t.props::text AS props, {wkb} AS wkb FROM {source} t "
        f"WHERE t.id = $1", feature_id)
    if row is None:
        return None
    return _Current(orjson.loads(row["feature"]), row["feature"], row["etag"], row["vals"],
                    orjson.loads(row["props"]), row["wkb"])


def _check_version(edit: Edit, current: _Current | None, feature_id: int) -> _Current:
    """404 when the feature is not there (for this proposal), 428 without If-Match, 412 when it names another
    version (RFC 9110: a request that would be 404 is 404 whatever its preconditions)."""
    if current is None:
        raise NotFound(f"no feature {feature_id} in collection {edit.layer.id!r}", parameter="featureId")
    if edit.if_match is None:
        raise PreconditionRequired(f"If-Match: send the feature's ETag ({quoted(current.etag)}, from a GET of it) "
                                   "so that a change made meanwhile is not overwritten", parameter="If-Match")
    if not if_match_passes(edit.if_match, current.etag):
        raise PreconditionFailed(f"If-Match: feature {feature_id} has changed (now {quoted(current.etag)}); "
                                 "read it again and redo the change", parameter="If-Match")
    return current


def _candidate(edit: Edit, current: _Current | None) -> Candidate:
    if edit.op == "create":
        return feature_candidate(edit.layer, edit.body, edit.crs)
    assert current is not None
    if edit.op == "replace":
        body = edit.body
        if isinstance(body, dict) and body.get("id") is not None and str(body["id"]) != str(current.feature["id"]):
            raise InvalidParameter(f"id: the body is feature {body['id']!r}, the URL feature "
                                   f"{current.feature['id']}", parameter="id")
        return feature_candidate(edit.layer, body, edit.crs, known_props=current.props)
    if not isinstance(edit.body, dict):
        raise InvalidParameter("body: a JSON Merge Patch is an object (RFC 7396)", parameter="body")
    merged = merge_patch(current.feature, edit.body)
    patches_geometry = "geometry" in edit.body
    if patches_geometry:
        merged["geometry"] = edit.body["geometry"]  # a geometry is replaced whole, never merged member by member
    return feature_candidate(edit.layer, merged, edit.crs, known_props=current.props,
                             keep_geometry=not patches_geometry)


async def _new_row(conn: asyncpg.Connection, layer: Layer, base: str, candidate: Candidate) -> str:
    """The stored values after the change: the current ones (id, plan …) under the request's (jsonb text)."""
    managed = ", ".join(f"'{name}'" for name in managed_columns(layer))
    return await conn.fetchval(
        f"SELECT (to_jsonb(r) - ARRAY[{managed}]::text[])::text "
        f"FROM jsonb_populate_record(NULL::{layer.id}, $1::text::jsonb || $2::text::jsonb) r",
        base, orjson.dumps(candidate.values).decode())


async def _check_rules(conn: asyncpg.Connection, layer: Layer, row: str, wkb: bytes | None, feature_id: int) -> None:
    """The layer's NOT NULL and CHECK rules (400), and its unique keys against the published features and
    against the changes of every open proposal (409)."""
    whole = "$2::text::jsonb || jsonb_build_object('geom', encode(ST_AsEWKB(ST_GeomFromWKB($3::bytea, 4326)), 'hex'))"
    problems = await conn.fetch(f"SELECT name, problem FROM lapis_feature_problems($1::regclass, {whole})",
                                layer.id, row, wkb)
    if problems:
        first = problems[0]["name"]
        raise InvalidParameter("properties: " + "; ".join(
            f"{p['name']} {p['problem']}" if p["problem"] == "is required" else f"breaks {p['name']}: {p['problem']}"
            for p in problems), parameter=first if layer.column(first) is not None else "properties")
    values = orjson.loads(row)
    if values.get("code") is not None:
        await advisory_lock(conn, f"lapis:code:{layer.id}:{values['code']}")
    taken = await conn.fetch("SELECT lapis_feature_duplicates($1::regclass, $2::text::jsonb, $3) AS key",
                             layer.id, row, feature_id)
    if taken:
        raise Conflict(f"{layer.id}: another published feature has the same "
                       f"{', '.join(r['key'] for r in taken)} (code {values.get('code')!r})", parameter="properties")
    if values.get("code") is not None:
        other = await conn.fetchval("SELECT lapis_pending_code($1, $2, $3)", layer.id, values["code"], feature_id)
        if other is not None:
            raise Conflict(f"code {values['code']!r}: proposal {other} (open) gives it to another feature of "
                           f"{layer.id}", parameter="code")


async def _write(conn: asyncpg.Connection, layer: Layer, proposal_id: int, feature_id: int, op: Op,
                 row: str | None, wkb: bytes | None, base_etag: str | None) -> None:
    geom = "ST_GeomFromWKB($6::bytea, 4326)" if layer.has_geometry else "NULL::geometry"
    await conn.execute(
        "INSERT INTO proposal_changes (proposal_id, layer, feature_id, op, properties, geom, base_etag) "
        f"VALUES ($1, $2, $3, $4, $5::text::jsonb, {geom}, $7) ON CONFLICT (proposal_id, layer, feature_id) DO UPDATE "
        "SET op = EXCLUDED.op, properties = EXCLUDED.properties, geom = EXCLUDED.geom, created_at = now()",
        proposal_id, layer.id, feature_id, op, row, wkb, base_etag)


async def _pending_elsewhere(conn: asyncpg.Connection, layer: Layer, feature_id: int, proposal_id: int) -> None:
    other = await conn.fetchval("SELECT lapis_pending_proposal($1, $2, $3)", layer.id, feature_id, proposal_id)
    if other is not None:
        raise Conflict(f"feature {feature_id} of {layer.id} has a pending change in proposal {other}: it can change "
                       "again once that proposal is published or rejected", parameter="featureId")


async def propose_change(conn: asyncpg.Connection, identity: Identity, edit: Edit,
                         proposal_id: int | None = None) -> ChangeResult:
    """Write `edit` into the caller's proposal (see the module's docstring); the result as the proposal would
    publish it. Raises NotFound, PreconditionRequired, PreconditionFailed, Conflict, InvalidParameter or
    InvalidGeometry, with nothing written."""
    layer = edit.layer
    if not layer.editable:
        raise Forbidden(f"{layer.id} is reference data, replaced by a reload from its source: it is not edited here")
    async with as_caller(conn, identity):
        pid = await proposal_for_write(conn, identity, proposal_id)
        await conn.execute("SELECT set_config('lapis.proposal', $1, true)", str(pid))
        fid = edit.feature_id if edit.op != "create" else await conn.fetchval(f"SELECT {new_feature_id_sql(layer)}")
        if fid is None:
            raise NotFound("featureId: missing", parameter="featureId")
        await advisory_lock(conn, f"lapis:feature:{layer.id}:{fid}")
        source = preview_source_sql(layer, pid)
        existing = await conn.fetchrow("SELECT id, op, base_etag FROM proposal_changes "
                                       "WHERE proposal_id = $1 AND layer = $2 AND feature_id = $3", pid, layer.id, fid)
        current = None
        if edit.op != "create":
            current = _check_version(edit, await _current(conn, layer, fid, source), fid)
            await _pending_elsewhere(conn, layer, fid, pid)
        base = existing["base_etag"] if existing is not None else (current.etag if current else None)
        if edit.op == "delete":
            if existing is not None and existing["op"] == "create":
                await conn.execute("DELETE FROM proposal_changes WHERE id = $1", existing["id"])
            else:
                await _write(conn, layer, pid, fid, "delete", None, None, base)
            return ChangeResult(pid, fid, "delete", None, None)
        candidate = _candidate(edit, current)
        wkb = current.wkb if candidate.keep_geometry and current is not None else candidate.geometry
        if layer.has_geometry and wkb is None:
            raise InvalidGeometry(f"geometry: {layer.id} needs a geometry", parameter="geometry")
        row = await _new_row(conn, layer, current.values if current else "{}", candidate)
        await _check_rules(conn, layer, row, wkb, fid)
        op: Op = "create" if existing is not None and existing["op"] == "create" else edit.op
        await _write(conn, layer, pid, fid, op, row, wkb, base)
        after = await _current(conn, layer, fid, source)
        assert after is not None
        return ChangeResult(pid, fid, op, after.etag, after.text)

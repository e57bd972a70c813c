"""A plan that changes between revision 1 (the bundled plan) and revision 2, for the revision diff and change log
tests: exactly one feature added, one removed, one changed in its attributes only, and two in their geometry only
(a line moved, a polygon reshaped) — besides churn that leaves no net change (a corridor renamed and named back, a
project added and removed again) and one change after revision 2.

The changes are made as the app makes them (the approver's group role, with `lapis.user`, `lapis.proposal` and
`lapis.reason` set by `spatial.session.as_caller_sync`) and, for the moved line, in plain SQL by the database owner,
as a steward in QGIS would."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
import shapely
from fastapi.testclient import TestClient

from spatial.identity.model import Identity, Role
from spatial.session import as_caller_sync
from tests.identity_fixtures import bearer, token_for

APPROVER = "pheduyet"  # the LAPIS user who makes the changes and records revision 2
SHIFT = 0.01  # degrees the axis moves east
NEW_R2 = shapely.MultiPolygon([shapely.box(106.30, 10.60, 106.40, 10.70)])
PROPOSAL = 7
REASON = "đổi tên theo Quyết định 1234/QĐ-UBND"


@dataclass
class RevisionScene:
    url: str
    token: str  # the approver's
    revision: int  # revision 2
    before: datetime  # revision 1's instant
    after: datetime  # revision 2's instant
    renamed: int  # zones C1: name_en and props.ap changed
    moved: int  # axes TDL1: moved east by SHIFT
    reshaped: int  # zones R2: now NEW_R2
    added: int  # projects DA-REV-MOI
    removed: int  # projects DA-QL62
    churned: tuple[int, int]  # corridors HL2 (renamed and back), projects DA-TAM (added and removed)
    later: int  # zones C1 again, after revision 2
    old_axis: shapely.Geometry
    old_r2: shapely.Geometry


def _pause() -> None:
    time.sleep(0.01)  # versions of separate transactions start at separate instants


def _approver(conn: psycopg.Connection, work: str, params: tuple = (), *, proposal: int | None = None,
              reason: str | None = None) -> int | None:
    with as_caller_sync(conn, Identity(APPROVER, Role.approver, proposal, reason)):
        row = conn.execute(work, params).fetchone()
    conn.commit()
    _pause()
    return row[0] if row else None


def build(url: str, client: TestClient) -> RevisionScene:
    token = token_for(url, Role.approver, name=APPROVER)
    with psycopg.connect(url) as conn:
        before = conn.execute("SELECT published_at FROM revisions WHERE id = 1").fetchone()[0]
        ids = dict(conn.execute("SELECT code, id FROM zones UNION ALL SELECT code, id FROM axes UNION ALL "
                                "SELECT code, id FROM projects UNION ALL SELECT code, id FROM corridors").fetchall())
        old_axis, old_r2 = (shapely.from_wkb(conn.execute(sql).fetchone()[0]) for sql in (
            "SELECT ST_AsBinary(geom) FROM axes WHERE code = 'TDL1'",
            "SELECT ST_AsBinary(geom) FROM zones WHERE code = 'R2'"))
        hl2_name = conn.execute("SELECT name_en FROM corridors WHERE code = 'HL2'").fetchone()[0]
        conn.commit()
        _pause()
        _approver(conn, "UPDATE zones SET name_en = 'Tan An centre (renamed)', props = props || "
                  "'{\"ap\": \"ấp Bình Tâm\"}' WHERE code = 'C1' RETURNING id", proposal=PROPOSAL, reason=REASON)
        conn.execute("UPDATE axes SET geom = ST_Multi(ST_Translate(geom, %s, 0)) WHERE code = 'TDL1'", (SHIFT,))
        conn.commit()
        _pause()
        _approver(conn, "UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326) WHERE code = 'R2' RETURNING id",
                  (shapely.to_wkb(NEW_R2),))
        added = _approver(conn, "INSERT INTO projects (code, name_vi, category, status, geom) VALUES ('DA-REV-MOI', "
                          "'Cảng Long An mở rộng', 'port', 'planned', ST_SetSRID(ST_MakePoint(106.7, 10.5), 4326)) "
                          "RETURNING id")
        _approver(conn, "DELETE FROM projects WHERE code = 'DA-QL62' RETURNING id")
        _approver(conn, "UPDATE corridors SET name_en = 'temporary' WHERE code = 'HL2' RETURNING id")
        _approver(conn, "UPDATE corridors SET name_en = %s WHERE code = 'HL2' RETURNING id", (hl2_name,))
        temporary = _approver(conn, "INSERT INTO projects (code, name_vi, category, status, geom) VALUES ('DA-TAM', "
                              "'Tạm', 'provincial_road', 'planned', ST_SetSRID(ST_MakePoint(106.6, 10.6), 4326)) "
                              "RETURNING id")
        _approver(conn, "DELETE FROM projects WHERE code = 'DA-TAM' RETURNING id")
    created = client.post("/revisions", headers=bearer(token), json={
        "name": "Điều chỉnh quy hoạch 2025", "legal_basis": "Decision 1234/QĐ-TTg, 01/10/2025",
        "decided_on": "2025-10-01", "note": "Điều chỉnh cục bộ"})
    assert created.status_code == 201, created.text
    _pause()
    with psycopg.connect(url) as conn:
        _approver(conn, "UPDATE zones SET name_vi = 'Trung tâm Tân An (sau)' WHERE code = 'C1' RETURNING id")
    body = created.json()
    return RevisionScene(url, token, body["id"], before, datetime.fromisoformat(body["published_at"]), ids["C1"],
                         ids["TDL1"], ids["R2"], added or 0, ids["DA-QL62"], (ids["HL2"], temporary or 0),
                         ids["C1"], old_axis, old_r2)

"""The scene the map's history views are tested on, in a database of its own: after revision 1 (the bundled plan) a
steward, as the approver role in plain SQL, moves and renames the Tân An centre (zone C1), deletes the Tân An ring
road (project DA-VDTA) and adds a project; then an approver records revision 2 through the API."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import psycopg
import shapely

from spatial.identity.model import Role
from tests.identity_fixtures import bearer, token_for

NEW_CENTRE = shapely.MultiPolygon([shapely.box(106.28, 10.44, 106.33, 10.49)])
NEW_NAME_VI, NEW_NAME_EN = "Trung tâm Tân An (dời)", "Tân An centre (moved)"
STEWARD = "nguyen.van.a"
REASON = "Điều chỉnh trung tâm theo quyết định mới"
ADDED_AT = (106.38, 10.60)


@dataclass(frozen=True)
class Scene:
    centre: int  # zone C1: moved and renamed
    removed: int  # project DA-VDTA: deleted
    added: int  # project DA-NEW: added
    old_point: tuple[float, float]  # inside C1 before the move, outside after
    new_point: tuple[float, float]  # inside C1 after the move, outside before
    on_removed: tuple[float, float]  # a point of the deleted road
    revision: int  # revision 2


def _edit(url: str) -> tuple[int, int, int, tuple[float, float], tuple[float, float]]:
    with psycopg.connect(url) as conn:
        centre, lon, lat = conn.execute(
            "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) AS p FROM zones "
            "WHERE code = 'C1') s").fetchone()
        removed, on_lon, on_lat = conn.execute(
            "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) AS p FROM projects "
            "WHERE code = 'DA-VDTA') s").fetchone()
        conn.execute("SET LOCAL ROLE lapis_approver")
        conn.execute("SELECT set_config('lapis.user', %s, true), set_config('lapis.reason', %s, true)",
                     (STEWARD, REASON))
        conn.execute("UPDATE zones SET geom = ST_GeomFromWKB(%s, 4326), name_vi = %s, name_en = %s WHERE id = %s",
                     (shapely.to_wkb(NEW_CENTRE), NEW_NAME_VI, NEW_NAME_EN, centre))
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL ROLE lapis_approver")
        conn.execute("SELECT set_config('lapis.user', %s, true)", (STEWARD,))
        conn.execute("DELETE FROM projects WHERE id = %s", (removed,))
        added = conn.execute(
            "INSERT INTO projects (code, name_vi, name_en, category, status, geom) VALUES ('DA-NEW', 'Cảng mới', "
            "'New port', 'port', 'planned', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            ADDED_AT).fetchone()[0]
    return centre, removed, added, (lon, lat), (on_lon, on_lat)


def build_scene(url: str, server: str) -> Scene:
    """Makes the changes in the database at `url`, then records revision 2 through the app at `server`."""
    centre, removed, added, old_point, on_removed = _edit(url)
    token = token_for(url, Role.approver)
    body = json.dumps({"name": "Điều chỉnh 2026", "legal_basis": "Decision 99/QĐ-UBND, 01/02/2026",
                       "decided_on": "2026-02-01", "note": "Tân An centre moved"}).encode()
    request = urllib.request.Request(f"{server}/revisions", data=body, method="POST",
                                     headers={**bearer(token), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        revision = json.load(response)["id"]
    return Scene(centre, removed, added, old_point, (106.305, 10.465), on_removed, revision)


def get_json(server: str, path: str) -> Any:
    with urllib.request.urlopen(f"{server}{path}", timeout=30) as response:
        return json.load(response)

"""Mutation testing of the core modules with mutmut 3: each module with the tests that exercise it.

    python scripts/mutation.py [cql detect locate grid checks ...] [--max-children N] [--min-score 80]
                               [--without TESTS] [--sql-only] [--report-only]

mutmut reads one `[tool.mutmut]` table, so one run would mutate every module with every test. Here each
module gets a folder of its own, `mutants/<module>/`, holding links to the project and a `pyproject.toml`
whose `[tool.mutmut]` is the project's shared one plus this module's `only_mutate` and test selection;
mutmut's copy of the project is `mutants/<module>/mutants/`. Afterwards, in that folder,
`../../.venv/bin/mutmut show <mutant>` or `mutmut browse` show what survived (`survivors.diff` has them all).

The score is killed / reached: mutants no test reaches ("no tests") are left out, and so are the survivors
a module's `accepted` rules match — equivalent mutants (no input can tell them apart) and mutated message
texts — each matched by its function and the line it produces, with the reason. DB-backed tests start
their own throwaway PostGIS cluster (tests/conftest.py) in every mutant run, from mutmut's copy.

mutmut mutates code inside functions only, so SQL held in module-level strings (locate's statements) gets
hand-made `sql_mutants` too: each is one textual change, run against the module's tests in
`mutants/<module>-sql/`, and every one must be killed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")
# what a module's folder links to: the sources mutmut copies, and what the tests read from PROJECT_ROOT
LINKS = ("app", "spatial", "tests", "bench", "data", "migrations", "alembic.ini")


@dataclass(frozen=True)
class Accepted:
    """A surviving mutant that is not a gap in the tests: `line` (a regular expression) matches the mutated
    line of `function` ("*": any function)."""

    function: str
    line: str
    reason: str

    def matches(self, function: str, line: str) -> bool:
        return self.function in ("*", function) and re.search(self.line, line) is not None


# a message whose words mutmut wrapped in XX or put in capitals: the text a person reads, not behaviour
MESSAGE_TEXT = Accepted("*", r'raise \w+\("(XX.*XX|[^a-z"]*|[^A-Z"]*)"', "message text")
# SQL does not mind the case of its keywords and type names
SQL_CASE = (
    Accepted("*", r'"(true|false|null)"', "an SQL literal in lower case"),
    Accepted("*", r'"(BIGINT|NUMERIC|TEXT|BOOLEAN|TIMESTAMPTZ|DATE)"\)', "an SQL type name in capitals"),
    Accepted("*", r"\b(-?INFINITY)\b", "PostgreSQL reads 'infinity' in any case"),
)

CQL_ACCEPTED = (
    *SQL_CASE,
    Accepted("Compiler._handlers", r'" (and|or) "', "an SQL keyword in lower case"),
    Accepted("Compiler._temporal", r'"t_\w+": "[^"]*\b(and|not)\b', "an SQL keyword in lower case"),
    Accepted("parse", r'"CQL2-TEXT"', "the language name is lower-cased anyway"),
    Accepted("Compiler._literal", r"params\.add\((int\(value\)|value), (None)?\)",
             "an untyped parameter: PostgreSQL types it as the column (or the text) it is compared with"),
    Accepted("*", r'node\.get\("op", ("XXXX"|None)?\)',
             "a node without 'op' (a geometry, a bbox, an interval) is no function with either default"),
    Accepted("Compiler._instant", r"_instant_or_interval\(value\)\[1\]", "a property is (its column, its column)"),
    Accepted("_short", r".", "message text: how an offending value is quoted and cut in an error detail"),
)
# Python does not mind the case of a codec name either
CODEC_CASE = Accepted("*", r'(decode|encoding=)\(?"(UTF-8|ASCII)"', "a codec name in capitals")

DETECT_ACCEPTED = (
    CODEC_CASE,
    Accepted("high_byte_words", r"last_end = -2", "any start below 0 skips no position"),
    Accepted("high_byte_words", r"if pos <= last_end:",
             "pos is a high byte, a word byte, so never the byte just after a word (last_end)"),
    Accepted("high_byte_words", r"m\.start\(\) <= pos (<|<=) m\.end\(\)\), (None)?\)",
             "some word always holds pos (a high byte matches the word pattern), and none ends at it"),
    Accepted("read_dbf_header", r"head = f\.read\((None|33)\)",
             "the header fields lie in the first 32 bytes; reading more changes none of them"),
    Accepted("score", r"^break$", "the legacy decoders never raise: the except branch runs for UTF-8 only"),
)

LOCATE_ACCEPTED = (
    Accepted("*", r'to_storage_sql\("([^A-Z"]*|[^a-z"]*)"', "SQL function and type names in another case"),
)

GRID_ACCEPTED = (
    Accepted("lonlat_to_tile", r"min\(lat, 86\.0511287798\)|-86\.0511287798\)",
             "beyond ±85.0511° the row is clamped to the first or last anyway"),
    Accepted("lonlat_to_tile", r"min\(max\(y, 0\), n \+ 1\)",
             "the latitude clamp keeps the row below n, so only n - 1 can bind"),
    Accepted("tiles_covering", r"(x0|y0) = max\(0, int\(.*\) / w\)\)",
             "/ and // differ only below 0, which max(0, …) clamps"),
)


CHECKS_ACCEPTED = (
    Accepted("_on_stage", r".",
             "runs at import, before mutmut turns a mutant on (its test runs fork from a process that imported the "
             "module); the statements it builds are pinned by the SQL mutants"),
    Accepted("_check_geometry", r'wanted = layer\.geometry_type or "',
             "called for a layer with geometry only: its geometry_type is never None, the fallback never used"),
    Accepted("_check_geometry", r"^if validate or not strict:$",
             "the repairs act on the rows the check marked 'invalid', which it does only when validating and not "
             "strict: run otherwise, they find nothing"),
    Accepted("check_stage", r"extent\[[123]\] is None",
             "ST_Extent's bounds are all NULL (no geometry left) or none is"),
)


@dataclass(frozen=True)
class Target:
    source: str
    tests: tuple[str, ...]
    accepted: tuple[Accepted, ...] = field(default=())
    # mutmut mutates code in functions only; SQL in module-level strings gets these hand-made mutants
    # (text → replacement), each of which the tests must kill
    sql_mutants: tuple[tuple[str, str], ...] = field(default=())
    sql_source: str | None = None  # the file the SQL mutants change, when it is not `source` (a migration)
    sql_tests: tuple[str, ...] = field(default=())  # the tests the SQL mutants run, when not `tests`


CHANGES_ACCEPTED = (
    Accepted("ChangeIndex.tile_version", r"len\(self\._memo\) >(=)? MEMO_SIZE",
             "clearing the memo one entry later or sooner: it stays bounded either way"),
    Accepted("ChangeIndex.tile_version", r"found = None$|self\._memo\.get\(None\)|self\._memo\[key\] = None",
             "a memo that never answers: every lookup computed again, the same answer (only slower)"),
    Accepted("*", r"np\.(empty|array)\(.*, (None)?\)",
             "a dtype left to numpy (float64 for an empty array, int64 for ids): ids and transaction ids, all below "
             "2**53, compare and convert back to int the same either way"),
    Accepted("LayerChanges.extended", r"r\[2:7\]|reshape\(-2, 4\)|isinf\(boxes\[:, [123]\]\)",
             "a row has 6 values; numpy reads any negative size as 'the rest'; a whole-layer box is infinite on "
             "every side"),
    Accepted("_box", r"values\[[123]\] is None", "the four sides are NULL together (tile_changes_box_check)"),
)
# the triggers of migration 0016 (its module-level SQL) and the changes a server reads
CHANGES_SQL_MUTANTS = (
    # an UPDATE forgets where the feature was
    ("SELECT geom_3857::box2d AS b FROM old_rows WHERE geom_3857 IS NOT NULL\n            UNION ALL",
     "SELECT geom_3857::box2d AS b FROM new_rows WHERE geom_3857 IS NOT NULL\n            UNION ALL"),
    # a DELETE records nothing
    ("FROM old_rows\n" + " " * 46 + "WHERE geom_3857 IS NOT NULL LIMIT {BOX_LIMIT + 1}) s;\n    ELSE",
     "FROM old_rows\n WHERE false) s;\n    ELSE"),
    ("IF cardinality(boxes) > {BOX_LIMIT} THEN", "IF cardinality(boxes) > {BOX_LIMIT} * 2 THEN"),
    ("SELECT DISTINCT TG_TABLE_NAME", "SELECT TG_TABLE_NAME"),
    ("    DELETE FROM tile_changes WHERE tile_changes.layer = name AND id < whole;\n", ""),
    ("(SELECT max(id) FROM tile_changes) - oldest >= {SPAN_LIMIT}", "(SELECT max(id) FROM tile_changes) - oldest >= 0"),
    # a whole-layer change that stamps some other layer's version: a server never reads it
    ("VALUES (name, pg_current_xact_id()", "VALUES (name || '_x', pg_current_xact_id()"),
)
LOCATE_SQL_MUTANTS = (
    # GET /locate: what contains the point (a point on a boundary is in), in which order
    ("FROM admin_units a WHERE ST_Intersects(a.geom, q.g)", "FROM admin_units a WHERE ST_Contains(a.geom, q.g)"),
    ("FROM zones z WHERE ST_Intersects(z.geom, q.g)", "FROM zones z WHERE ST_Contains(z.geom, q.g)"),
    ("FROM corridors c WHERE ST_Intersects(c.geom, q.g)", "FROM corridors c WHERE ST_Contains(c.geom, q.g)"),
    ("ORDER BY a.level = 'province', a.code", "ORDER BY a.code"),
    ("ORDER BY z.kind <> 'region', z.kind <> 'centre', z.code", "ORDER BY z.kind <> 'region', z.code"),
    ("ORDER BY z.kind <> 'region', z.kind <> 'centre', z.code", "ORDER BY z.kind <> 'centre', z.code"),
    ("'lon', ST_X(q.g), 'lat', ST_Y(q.g)", "'lon', ST_Y(q.g), 'lat', ST_X(q.g)"),
    # the nearest axis: re-ranked on the ellipsoid, distance to 0.1 m
    ("ORDER BY axes.geom <-> q.g LIMIT 6", "ORDER BY axes.geom <-> q.g LIMIT 1"),
    ("'distance_m', round(n.d::numeric, 1)", "'distance_m', round(n.d::numeric)"),
    # projects within the radius: the exact test, the index pre-filter box, the order
    ("ST_DWithin(x.geom::geography, q.gg, $3)", "ST_DWithin(x.geom::geography, q.gg, $3 + 1)"),
    ("ST_DWithin(x.geom::geography, q.gg, $3)", "ST_DWithin(x.geom::geography, q.gg, $3 - 1)"),
    ("$3 / (111320.0 * cos(radians(ST_Y(g)))) * 1.01", "$3 / 111320.0 * 1.01"),
    ("$3 / 110574.0 * 1.01", "$3 / 110574.0 * 0.99"),
    ("ORDER BY pr.d, pr.code", "ORDER BY pr.d, pr.code DESC"),
    # POST /locate: what a parcel overlaps, shares, the primary region and admin unit
    ("FROM admin_units a, q WHERE ST_Intersects(a.geom, q.g)", "FROM admin_units a, q WHERE ST_Contains(a.geom, q.g)"),
    ("FROM zones z, q WHERE ST_Intersects(z.geom, q.g)", "FROM zones z, q WHERE ST_Contains(z.geom, q.g)"),
    ("FROM corridors c, q WHERE ST_Intersects(c.geom, q.g)", "FROM corridors c, q WHERE ST_Contains(c.geom, q.g)"),
    ("CASE WHEN ST_Covers(h.geom, q.g) THEN q.area", "CASE WHEN ST_Intersects(h.geom, q.g) THEN q.area"),
    ("WHERE s.area_m2 > 0", "WHERE s.area_m2 >= 0"),
    ("100.0 * s.area_m2 / s.total", "s.area_m2 / s.total"),
    ("q AS (SELECT g, ST_Area(g::geography) AS area FROM p)", "q AS (SELECT g, ST_Area(g) AS area FROM p)"),
    ("ORDER BY r.share DESC, r.layer, r.code), '[]'::json)", "ORDER BY r.share, r.layer, r.code), '[]'::json)"),
    ("WHERE r.layer = 'zones' AND r.kind = 'region' ORDER BY r.share DESC",
     "WHERE r.layer = 'zones' ORDER BY r.share DESC"),
    ("WHERE r.layer = 'zones' AND r.kind = 'region' ORDER BY r.share DESC",
     "WHERE r.layer = 'zones' AND r.kind = 'region' ORDER BY r.share"),
    ("WHERE r.layer = 'admin_units' AND r.kind = 'district' ORDER BY r.share DESC",
     "WHERE r.layer = 'admin_units' ORDER BY r.share DESC"),
    ("WHERE r.layer = 'admin_units' AND r.kind = 'district' ORDER BY r.share DESC",
     "WHERE r.layer = 'admin_units' AND r.kind = 'district' ORDER BY r.share"),
)


CHECKS_SQL_MUTANTS = (
    # geometries: strict rejects invalid ones, collections pass the type test, dimensions differ either way
    ("CASE WHEN reason LIKE 'invalid%%' AND NOT %(strict)s THEN", "CASE WHEN reason LIKE 'invalid%%' THEN"),
    ("WHEN s.geom IS NULL THEN 'null geometry'", "WHEN s.geom IS NULL THEN NULL"),
    ("ST_Dimension(s.geom) <> %(dimension)s::int", "ST_Dimension(s.geom) < %(dimension)s::int"),
    ("ST_Dimension(s.geom) <> %(dimension)s::int", "ST_Dimension(s.geom) > %(dimension)s::int"),
    ("AND NOT (GeometryType(s.geom) = 'GEOMETRYCOLLECTION')", ""),
    ("WHEN %(validate)s AND NOT ST_IsValid(s.geom)", "WHEN NOT ST_IsValid(s.geom)"),
    # repairs: only the layer's geometry type kept; nothing left of it is a rejection, with the reason
    ("ELSE ST_CollectionExtract(ST_MakeValid(s.geom), %(extract)s::int) END", "ELSE ST_MakeValid(s.geom) END"),
    ("SET kind = CASE WHEN s.geom IS NULL OR ST_IsEmpty(s.geom) OR NOT ST_IsValid(s.geom)",
     "SET kind = CASE WHEN s.geom IS NULL OR NOT ST_IsValid(s.geom)"),
    ("THEN i.reason || '; ST_MakeValid left nothing of the layer''s geometry type'", "THEN i.reason"),
    # codes: a pair is a duplicate, the first in source order stays, an empty code is no duplicate
    ("GROUP BY 1 HAVING count(*) > 1 LIMIT 1", "GROUP BY 1 HAVING count(*) > 2 LIMIT 1"),
    ("first_value(s.row_no) OVER w", "last_value(s.row_no) OVER w"),
    ("PARTITION BY {code} ORDER BY s.src, s.row_no", "PARTITION BY {code} ORDER BY s.row_no"),
    ("WHERE n > 1 AND code IS NOT NULL", "WHERE n > 1"),
    ("'duplicate code ' || quote_literal(code)", "'duplicate code ''' || code || ''''"),
    # the list, the counts (rows, not reasons) and what leaves the stage
    ("ORDER BY i.src, i.row_no, i.reason LIMIT", "ORDER BY i.row_no, i.src, i.reason LIMIT"),
    ("ORDER BY i.src, i.row_no, i.reason LIMIT", "ORDER BY i.src, i.row_no, i.reason DESC LIMIT"),
    ("WHERE i.kind = 'rejected' ORDER BY", "WHERE i.kind <> 'invalid' ORDER BY"),
    ("CASE WHEN bool_or(kind = 'rejected')", "CASE WHEN bool_and(kind = 'rejected')"),
    ("FROM {issues} GROUP BY src, row_no) r", "FROM {issues} GROUP BY row_no) r"),
    ("FROM {issues} GROUP BY src, row_no) r", "FROM {issues} GROUP BY src, row_no, kind) r"),
    ("WHERE i.kind = 'rejected' AND i.src = s.src AND i.row_no = s.row_no",
     "WHERE i.kind = 'rejected' AND i.row_no = s.row_no"),
    ("WHERE i.kind = 'rejected' AND i.src = s.src AND i.row_no = s.row_no",
     "WHERE i.src = s.src AND i.row_no = s.row_no"),
    # the plausible extent (a bounding box that overlaps it is in), in source order; the stage's extent
    ("NOT (s.geom && ST_MakeEnvelope(%s, %s, %s, %s))", "NOT ST_Within(s.geom, ST_MakeEnvelope(%s, %s, %s, %s))"),
    ('ORDER BY s.src, s.row_no\n""")', 'ORDER BY s.row_no\n""")'),
    ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)", "SELECT ST_XMin(e), ST_XMax(e), ST_YMin(e), ST_YMax(e)"),
)


TARGETS: dict[str, Target] = {
    "cql": Target("spatial/cql.py", (
        "tests/spatial/test_cql.py",
        "tests/spatial/test_cql_semantics.py",
        "tests/spatial/test_features_query.py",
        "tests/app/test_features.py",
    ), accepted=CQL_ACCEPTED),
    "detect": Target("spatial/io/encodings/detect.py", (
        "tests/spatial/io/test_encodings.py",
        "tests/spatial/io/test_detect.py",
        # the loads that detect an encoding (every other load reaches it too, at a minute a mutant)
        "tests/spatial/io/test_loader.py::test_utf8_dbf_without_cpg",
        "tests/spatial/io/test_loader.py::test_legacy_dbf_decoded_to_exact_nfc_names",
        "tests/spatial/io/test_loader.py::test_cpg_and_ldid_are_honoured",
    ), accepted=DETECT_ACCEPTED),
    "locate": Target("spatial/queries/locate.py", (
        "tests/spatial/queries/test_queries.py",
        "tests/spatial/queries/test_locate_edges.py",
        "tests/app/test_planner.py",
        "tests/app/test_locate_multipolygon.py",
    ), accepted=LOCATE_ACCEPTED, sql_mutants=LOCATE_SQL_MUTANTS),
    "grid": Target("spatial/tiles/grid.py", (
        "tests/spatial/tiles",
        "tests/app/test_tiles.py",
        "tests/app/test_tile_cache.py",
    ), accepted=GRID_ACCEPTED),
    # mutmut: the index's own tests (a mutant of the module runs them in seconds; what reads the database, only
    # `read_changes`, is covered by the DB tests the SQL mutants run); the SQL mutants: the whole module
    "changes": Target("spatial/tiles/changes.py", tuple(
        f"tests/spatial/tiles/test_tile_changes.py::{test}" for test in (
            "test_a_tile_takes_the_latest_change_that_meets_it",
            "test_a_whole_layer_change_meets_every_tile_and_drops_what_came_before",
            "test_the_buffer_counts_and_no_more", "test_the_memo_is_bounded",
            "test_the_boxes_after_a_change_and_none_past_a_whole_layer_change",
            "test_a_layer_without_tile_changes_falls_back_to_its_version")),
        accepted=CHANGES_ACCEPTED, sql_mutants=CHANGES_SQL_MUTANTS,
        sql_source="migrations/versions/0016_tile_changes.py",
        sql_tests=("tests/spatial/tiles/test_tile_changes.py",)),
    "checks": Target("spatial/io/checks.py", (
        "tests/spatial/io/test_checks.py",
        # the loads that test the checks (every load reaches them, at several seconds a load)
        "tests/spatial/io/test_loader.py::test_invalid_polygons_repaired_and_counted_or_rejected_when_strict",
        "tests/spatial/io/test_loader.py::test_valid_load_validates_once_and_an_invalid_row_gets_the_full_check",
        "tests/spatial/io/test_loader.py::test_outside_extent_warns_or_fails_when_strict",
        "tests/spatial/io/test_loader.py::test_duplicate_codes_rejected_with_reason",
        "tests/spatial/io/test_loader.py::test_a_row_with_two_faults_is_one_rejected_row",
    ), accepted=CHECKS_ACCEPTED, sql_mutants=CHECKS_SQL_MUTANTS),
}


def module_config(target: Target, without: list[str]) -> str:
    """The project's pyproject.toml with its [tool.mutmut] table narrowed to one module and its tests."""
    text = (ROOT / "pyproject.toml").read_text()
    shared = tomllib.loads(text)["tool"]["mutmut"]
    if set(shared["only_mutate"]) != {t.source for t in TARGETS.values()}:
        raise SystemExit("[tool.mutmut] only_mutate and scripts/mutation.py TARGETS name different modules")
    tests = [t for t in target.tests if t not in without]
    settings = {**shared, "only_mutate": [target.source], "pytest_add_cli_args_test_selection": tests}
    start = text.index("[tool.mutmut]")
    end = text.find("\n[", start + 1)
    table = "[tool.mutmut]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in settings.items())
    return text[:start] + table + (text[end + 1:] if end >= 0 else "")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def prepare(name: str, target: Target, without: list[str]) -> Path:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for link in LINKS:
        if (ROOT / link).exists():
            (folder / link).symlink_to(ROOT / link)
    (folder / "pyproject.toml").write_text(module_config(target, without))
    # mutmut's copy of the project is its PROJECT_ROOT: link the npm packages (the API docs and map assets)
    # rather than have mutmut copy them
    (folder / "mutants").mkdir()
    (folder / "mutants" / "node_modules").symlink_to(ROOT / "node_modules")
    return folder


def mutmut(folder: Path, *args: str) -> str:
    done = subprocess.run([str(MUTMUT), *args], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut {' '.join(args)} failed in {folder}")
    return done.stdout


def mutated_line(diff: str) -> str:
    """The first added line of a mutant's diff (without the '+')."""
    return next((line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")),
                "")


def function_of(mutant: str) -> str:
    """`spatial.cql.xǁCompilerǁ_literal__mutmut_12` → `Compiler._literal`; `x_parse__mutmut_3` → `parse`."""
    local = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    return local.removeprefix("xǁ").replace("ǁ", ".") if "ǁ" in local else local.removeprefix("x_")


def report(name: str, target: Target, folder: Path) -> float:
    statuses = dict(line.strip().split(": ", 1) for line in mutmut(folder, "results", "--all", "true").splitlines()
                    if ": " in line)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    reached = len(statuses) - counts.get("no tests", 0) - counts.get("skipped", 0)
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("caught by type check", 0)
    accepted: list[tuple[str, Accepted]] = []
    gaps: list[tuple[str, str, str]] = []
    diffs = []
    for mutant, status in sorted(statuses.items()):
        if status in ("killed", "no tests", "skipped", "timeout", "caught by type check"):
            continue
        diff = mutmut(folder, "show", mutant)
        line = mutated_line(diff)
        match = next((a for a in (*target.accepted, MESSAGE_TEXT) if a.matches(function_of(mutant), line)), None)
        if match and status == "survived":
            accepted.append((mutant, match))
        else:
            gaps.append((mutant, status, line))
            diffs.append(diff)
    (folder / "survivors.diff").write_text("\n".join(diffs))
    counted = reached - len(accepted)
    score = 100.0 * killed / counted if counted else 100.0
    print(f"{name:7} {target.source}: {len(statuses)} mutants, {reached} reached by the tests, "
          f"{killed} killed, {len(accepted)} accepted survivors, {len(gaps)} others → {score:.1f} % killed")
    for mutant, status, line in gaps:
        print(f"    {status}: {mutant}  ({line})")
    for mutant, a in accepted:
        print(f"    accepted: {mutant} — {a.reason}")
    return score


def run_sql_mutants(name: str, target: Target, without: list[str]) -> list[str]:
    """Run the target's tests on each SQL mutant (a copy of spatial/ with the one change); the survivors."""
    folder = WORK / f"{name}-sql"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = target.sql_source or target.source
    # copied, the rest linked: spatial/ always (PROJECT_ROOT, where migrations are found, is its real parent) and
    # the folder of the changed file
    copied = {"spatial", source.split("/")[0]}
    for link in (*LINKS, "node_modules", "pyproject.toml"):
        if link not in copied:
            (folder / link).symlink_to(ROOT / link)
    for tree in copied:
        shutil.copytree(ROOT / tree, folder / tree, ignore=shutil.ignore_patterns("__pycache__"))
    original = (ROOT / source).read_text()
    tests = [t for t in target.sql_tests or target.tests if t not in without]
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]

    def tests_pass(text: str) -> bool:
        (folder / source).write_text(text)
        done = subprocess.run(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)}, capture_output=True)
        if done.returncode not in (0, 1):
            sys.stderr.write(done.stdout.decode()[-3000:])
            raise SystemExit(f"pytest could not run the tests in {folder} (exit {done.returncode})")
        return done.returncode == 0

    if not tests_pass(original):
        raise SystemExit(f"the tests fail on the unchanged copy in {folder}: fix them first")
    survivors = []
    for old, new in target.sql_mutants:
        if original.count(old) != 1:
            raise SystemExit(f"{source}: the SQL mutant's text is not there exactly once: {old!r}")
        if tests_pass(original.replace(old, new)):
            survivors.append(f"{old!r} → {new!r}")
    (folder / source).write_text(original)
    print(f"{name:7} SQL mutants: {len(target.sql_mutants) - len(survivors)} of {len(target.sql_mutants)} killed")
    for survivor in survivors:
        print(f"    survived: {survivor}")
    return survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="module", help=f"any of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--min-score", type=float, default=80.0, help="fail below this kill rate (percent)")
    parser.add_argument("--sql-only", action="store_true", help="only the hand-made SQL mutants, no mutmut run")
    parser.add_argument("--report-only", action="store_true", help="report the last run again, run nothing")
    parser.add_argument("--without", action="append", default=[], metavar="TESTS",
                        help="leave these tests (a path as listed in TARGETS) out, e.g. to see what they add")
    args = parser.parse_args()
    failed = []
    unknown = set(args.modules) - set(TARGETS)
    if unknown:
        parser.error(f"unknown module(s) {', '.join(sorted(unknown))}; choose from {', '.join(TARGETS)}")
    for name in args.modules or list(TARGETS):
        target = TARGETS[name]
        if args.report_only:
            if report(name, target, WORK / name) < args.min_score:
                failed.append(name)
            continue
        if not args.sql_only:
            folder = prepare(name, target, args.without)
            print(f"== {name}: mutmut run in {folder.relative_to(ROOT)}", flush=True)
            subprocess.run([str(MUTMUT), "run", "--max-children", str(args.max_children)], cwd=folder,
                           stdout=subprocess.DEVNULL, check=True)
            if report(name, target, folder) < args.min_score:
                failed.append(name)
        if target.sql_mutants and run_sql_mutants(name, target, args.without):
            failed.append(f"{name} (SQL)")
    if failed:
        raise SystemExit(f"below {args.min_score:.0f} % killed: {', '.join(failed)}")


if __name__ == "__main__":
    main()

"""`lapis load`: sources → stage (binary COPY, streamed) → checks and repairs in SQL → one set-based apply,
all in one transaction: either the whole load lands (one new layer version) or the layer is unchanged. A load
that would load nothing is rolled back. The caller hears of each phase (`spatial.io.phases`) as it starts.

Every input feature ends up loaded, repaired and loaded, or listed as rejected with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa

from spatial.db import connect
from spatial.io import copy as pgcopy
from spatial.io.apply import ApplyResult, Mode, check_and_apply
from spatial.io.checks import CheckResult
from spatial.io.columns import PSEUDO_COLUMNS, Mapping
from spatial.io.crs import PLAUSIBLE_MARGIN_DEG, PROVINCE_BBOX
from spatial.io.errors import LoadError
from spatial.io.phases import COMMIT, READ, ROLLBACK, STAGE, OnPhase, silent
from spatial.io.reader import GEOMETRY, Prepared, prepare, read_batches
from spatial.io.sources import Source, open_sources
from spatial.io.stage import StageField, copy_batches, create_stage
from spatial.layers import Layer, get_layer

SHAPEFILE_NAME_LENGTH = 10
# source fields never mapped: the layer's own managed columns (and GDAL's feature ids)
RESERVED = {"id", "fid", "ogc_fid", "geom", "geometry", "geom_3857", "created_at", "updated_at", "plan_id"}
REQUIRED_COLUMNS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO'
  AND column_default IS NULL AND is_generated = 'NEVER' AND is_identity = 'NO'
"""


@dataclass
class LoadOptions:
    layer: str
    mode: Mode = "append"
    key: str = "code"
    crs: str | None = None
    encoding: str = "auto"
    set_values: dict[str, str] = field(default_factory=dict)
    field_map: dict[str, str] = field(default_factory=dict)  # SRC -> DEST
    source_layer: str | None = None
    dry_run: bool = False
    strict: bool = False
    batch_size: int = 65_536
    bulk_threshold: int = 50_000


@dataclass
class SourceReport:
    source: str
    driver: str
    features: int | None
    crs_in: str | None
    crs_how: str | None
    crs_out: str
    transformation: str | None
    encoding: str
    encoding_reason: str
    damaged_text: dict[str, int] = field(default_factory=dict)
    damaged_examples: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    layer: str
    mode: str
    dry_run: bool
    sources: list[SourceReport] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # layer column -> source field / constant
    props_fields: list[str] = field(default_factory=list)
    code_rule: str = ""
    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    repaired: int = 0
    rejected: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    outside_extent: int = 0
    warnings: list[str] = field(default_factory=list)
    extent: tuple[float, float, float, float] | None = None
    indexes_rebuilt: int = 0
    built_aside: bool = False  # a new copy of the layer was built and switched in (a big replace)
    committed: bool = False  # set by `load`: False for a dry run and for a load that loaded nothing
    txid: int | None = None
    elapsed_s: float = 0.0

    @property
    def staged(self) -> int:
        """Features that reached the apply step (read minus rejected)."""
        return self.read - self.rejected

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[int], None]
# what moves the checked stage on: `check_and_apply` (into the layer) or another step with its signature (an
# upload's `spatial.jobs.propose.propose_step`: into a proposal)
ApplyStep = Callable[..., tuple[CheckResult, ApplyResult]]


def build_mapping(layer: Layer, fields: list[StageField], options: LoadOptions, stems: list[str],
                  driver_names: set[str]) -> Mapping:
    """Source fields → layer columns: --map first, then exact names, then the layer's aliases, then (for
    shapefiles) a column name cut to 10 characters; the rest go to `props`."""
    if layer.column(options.key) is None:
        raise LoadError(f"--key {options.key!r} is not a column of {layer.id}; its columns: "
                        f"{', '.join(layer.column_names)}", parameter="key")
    targets = set(layer.column_names) | set(PSEUDO_COLUMNS)
    by_lower = {f.name.lower(): f for f in fields}
    mapping = Mapping(fields={}, constants={}, stems=stems)
    for dest, value in options.set_values.items():
        if dest not in targets or dest == "props":
            raise LoadError(f"--set {dest}=…: {layer.id} has no column {dest!r}; its columns: "
                            f"{', '.join((*layer.column_names, 'plan_code'))}", parameter="set")
        column = layer.column(dest)
        if column is not None and column.enum and value not in column.enum:
            raise LoadError(f"--set {dest}={value!r}: must be one of {', '.join(column.enum)}", parameter="set")
        mapping.constants[dest] = value
    used: set[str] = set()
    for src, dest in options.field_map.items():
        f = by_lower.get(src.lower())
        if f is None:
            raise LoadError(f"--map {src}={dest}: the source has no field {src!r}; its fields: "
                            f"{', '.join(x.name for x in fields)}", parameter="map")
        if dest not in targets:
            raise LoadError(f"--map {src}={dest}: {layer.id} has no column {dest!r}; its columns: "
                            f"{', '.join((*layer.column_names, *PSEUDO_COLUMNS))}", parameter="map")
        mapping.fields[dest] = f
        used.add(f.name)
    shapefile = "ESRI Shapefile" in driver_names
    for rule in ("exact", "alias", "truncated"):
        for f in fields:
            if f.name in used:
                continue
            key = f.name.lower()
            if rule == "exact":
                dest = key if key in targets else None
            elif rule == "alias":
                dest = layer.aliases.get(key)
            else:
                dest = next((c for c in layer.column_names if shapefile and len(key) == SHAPEFILE_NAME_LENGTH
                             and c.startswith(key)), None)
            if dest and dest not in mapping.fields and dest not in mapping.constants:
                mapping.fields[dest] = f
                used.add(f.name)
    for f in fields:
        if f.name in used:
            continue
        if f.name.lower() in RESERVED:
            mapping.ignored.append(f.name)
        else:
            mapping.props.append(f)
    return mapping


def _union_fields(schemas: Iterable[pa.Schema]) -> list[StageField]:
    """One stage column per distinct source field name (types that disagree between sources → text)."""
    types: dict[str, str] = {}
    for schema in schemas:
        for f in schema:
            pg_type = pgcopy.pg_type_for(f)
            types[f.name] = pg_type if types.get(f.name, pg_type) == pg_type else pgcopy.TEXT
    return [StageField(name, f"f{i}", t) for i, (name, t) in enumerate(types.items())]


def _conform(batch: pa.RecordBatch, fields: list[StageField]) -> pa.RecordBatch:
    """Cast a source's columns to the stage's (text where sources disagree)."""
    columns, names = [], []
    for f in fields:
        if f.name not in batch.schema.names:
            continue
        column = batch.column(f.name)
        if f.pg_type == pgcopy.TEXT and not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())
        columns.append(column)
        names.append(f.name)
    if GEOMETRY in batch.schema.names:
        columns.append(batch.column(GEOMETRY))
        names.append(GEOMETRY)
    return pa.RecordBatch.from_arrays(columns, names=names)


def _check_required(conn: psycopg.Connection, layer: Layer, mapping: Mapping) -> None:
    required = {r[0] for r in conn.execute(REQUIRED_COLUMNS, (layer.id,)).fetchall()}
    for column in layer.column_names:
        if column in required and column not in ("code", "name_vi") and column not in mapping.fields \
                and column not in mapping.constants:
            raise LoadError(f"{layer.id}.{column} is required and no source field maps to it: map one with "
                            f"--map SRC={column} or give every feature a value with --set {column}=VALUE")


def load_into(conn: psycopg.Connection, path: Path, options: LoadOptions,
              progress: Progress | None = None, on_total: Callable[[int | None], None] | None = None,
              on_phase: OnPhase = silent, apply: ApplyStep = check_and_apply) -> LoadReport:
    """Load `path` into `options.layer` inside the caller's transaction (nothing is committed here); `apply`
    takes the staged rows from there (`check_and_apply`'s signature)."""
    started = time.perf_counter()
    layer = get_layer(options.layer)
    report = LoadReport(layer.id, options.mode, options.dry_run)
    on_phase(READ, str(path))
    with open_sources(Path(path), options.source_layer) as sources:
        prepared = [prepare(s, options.crs, options.encoding) for s in sources]
        if on_total is not None:
            counts = [p.features for p in prepared]
            on_total(None if any(c is None or c < 0 for c in counts) else sum(counts))
        fields = _union_fields(p.schema for p in prepared)
        mapping = build_mapping(layer, fields, options, [_stem(s) for s in sources],
                                {p.source.driver for p in prepared})
        _check_required(conn, layer, mapping)
        on_phase(STAGE, f"features of {len(prepared)} source(s) into the stage")
        create_stage(conn, fields)
        for src, p in enumerate(prepared, start=1):
            if layer.has_geometry and not p.has_geometry:
                raise LoadError(f"{p.source.display} has no geometry, and {layer.id} needs one")
            geometry = GEOMETRY if p.has_geometry else None
            batches = (_conform(b, fields) for b in read_batches(p, options.batch_size))
            present = [f for f in fields if f.name in p.schema.names]
            for n in copy_batches(conn, present, src, batches, geometry=geometry):
                report.read += n
                if progress is not None:
                    progress(n)
        warnings = list(report.warnings)

        def inspect(checks: CheckResult) -> None:  # may run twice (see check_and_apply): the last one counts
            report.warnings[:] = warnings
            _report_checks(report, checks, sources, options)

        _, result = apply(conn, layer, mapping, options.mode, options.key, strict=options.strict,
                          plausible=_plausible(), bulk_threshold=options.bulk_threshold, inspect=inspect,
                          copied=report.read, on_phase=on_phase, analyze=not options.dry_run)
    _report_result(report, result, mapping, prepared)
    report.txid = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
    report.elapsed_s = round(time.perf_counter() - started, 3)
    return report


def apply_batches(conn: psycopg.Connection, layer: Layer, schema: pa.Schema, batches: Iterable[pa.RecordBatch],
                  options: LoadOptions, stem: str = "frame") -> ApplyResult:
    """In-memory Arrow batches (EPSG:4326, WKB `geometry`) through the same mapping, checks and apply."""
    fields = _union_fields([pa.schema([f for f in schema if f.name != GEOMETRY])])
    mapping = build_mapping(layer, fields, options, [stem], set())
    _check_required(conn, layer, mapping)
    create_stage(conn, fields)
    geometry = GEOMETRY if GEOMETRY in schema.names and layer.has_geometry else None
    for _ in copy_batches(conn, fields, 1, batches, geometry=geometry):
        pass
    _, result = check_and_apply(conn, layer, mapping, options.mode, options.key, strict=options.strict,
                                plausible=None, bulk_threshold=options.bulk_threshold)
    return result


def _stem(source: Source) -> str:
    return source.stem


def _plausible() -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = PROVINCE_BBOX
    m = PLAUSIBLE_MARGIN_DEG
    return (xmin - m, ymin - m, xmax + m, ymax + m)


def _report_checks(report: LoadReport, checks: CheckResult, sources: list[Source], options: LoadOptions) -> None:
    report.repaired = checks.repaired
    report.rejected = checks.rejected
    report.rejects = [{"source": sources[src - 1].display, "row": row, "code": code, "reason": reason}
                      for src, row, code, reason in checks.rejects]
    report.outside_extent = checks.outside
    report.extent = checks.extent
    if checks.outside:
        rows = ", ".join(f"{sources[s - 1].stem}#{r}" for s, r in checks.outside_rows[:10])
        message = (f"{checks.outside} feature(s) lie outside Long An's plausible extent "
                   f"({', '.join(f'{v:g}' for v in _plausible())}) after transformation: {rows}"
                   f"{' …' if checks.outside > 10 else ''} — is the CRS right?")
        if options.strict:
            raise LoadError(message + " (refused with --strict)")
        report.warnings.append(message)


def _report_result(report: LoadReport, result: ApplyResult, mapping: Mapping, prepared: list[Prepared]) -> None:
    report.inserted, report.updated, report.unchanged = result.inserted, result.updated, result.unchanged
    report.deleted, report.indexes_rebuilt = result.deleted, result.indexes_rebuilt
    report.built_aside = result.built_aside
    report.loaded = result.inserted + result.updated + result.unchanged
    report.mapping = {**{dest: f.name for dest, f in mapping.fields.items()},
                      **{dest: f"= {value!r}" for dest, value in mapping.constants.items()}}
    report.props_fields = [f.name for f in mapping.props]
    report.code_rule = ("generated: <source name>-<row number>" if mapping.generated_code
                        else f"from {report.mapping.get('code')}")
    if "name_vi" not in mapping.fields and "name_vi" not in mapping.constants:
        report.warnings.append("no source field maps to name_vi: features are named by their code")
    if mapping.ignored:
        report.warnings.append(f"fields ignored (reserved names): {', '.join(mapping.ignored)}")
    for p in prepared:
        repro = p.reprojection
        report.sources.append(SourceReport(
            p.source.display, p.source.driver, p.features,
            p.crs.label if p.crs else None, p.crs.how if p.crs else None, "EPSG:4326",
            repro.description if repro else None, p.encoding.encoding, p.encoding.reason,
            dict(p.damaged), list(p.damaged_examples)))
        for name, count in p.damaged.items():
            report.warnings.append(
                f"{p.source.display}: {count} value(s) of {name!r} have '?' in place of letters (damaged before "
                f"they reached LAPIS; not repairable), e.g. {p.damaged_examples[:3]}")


def load(url: str, path: Path, options: LoadOptions, progress: Progress | None = None,
         on_total: Callable[[int | None], None] | None = None, on_phase: OnPhase = silent) -> LoadReport:
    """Load in one transaction of its own; with `dry_run` everything runs and is then rolled back, and so is a
    load that loads nothing (an empty source, or every feature rejected: a replace must not empty the layer)."""
    with connect(url) as conn, conn.transaction():
        report = load_into(conn, path, options, progress, on_total, on_phase)
        if options.dry_run or report.loaded == 0:
            if not options.dry_run:
                report.warnings.append("nothing to load: rolled back, the layer is unchanged")
            on_phase(ROLLBACK, "dry run" if options.dry_run else "nothing to load")
            raise psycopg.Rollback()  # leaves the transaction block quietly, rolled back
        on_phase(COMMIT, f"{report.loaded:,} features")
    report.committed = not options.dry_run and report.loaded > 0
    return report

"""Read one source as a stream of Arrow record batches: attributes decoded to NFC Unicode in the detected
encoding, geometry as 2D WKB in EPSG:4326. Memory stays bounded by the batch size, whatever the file size.
GeoParquet is read with pyarrow (`spatial.io.geoparquet`), every other format through GDAL (pyogrio).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio
import shapely
from pyogrio.raw import open_arrow

from spatial.io import geoparquet
from spatial.io.crs import (
    CrsChoice,
    CrsError,
    Reprojection,
    looks_geographic,
    missing_crs_message,
    reprojection,
    resolve,
)
from spatial.io.encodings.codecs import from_latin1
from spatial.io.encodings.detect import Detection, detect_shapefile_encoding, high_byte_words
from spatial.io.errors import LoadError
from spatial.io.sources import Source

GEOMETRY = "geometry"
LEGACY = {"cp1258", "tcvn3", "vni", "latin-1"}  # read as Latin-1, decoded here
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "shape")
LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
DAMAGE_PATTERN = r"\p{L}\?|\?\p{L}"
DAMAGE_EXAMPLES = 5
JSON_NUL = re.compile(rb"(\\+)u0000")  # a JSON escape of NUL (an odd run of backslashes before u0000)


class NulInText(LoadError):
    """A text value holds a NUL character: PostgreSQL cannot store it, and GDAL would cut the text short at it."""


@dataclass
class Prepared:
    source: Source
    encoding: Detection
    crs: CrsChoice | None
    reprojection: Reprojection | None
    features: int | None
    schema: pa.Schema  # attribute fields (no geometry)
    has_geometry: bool
    damaged: dict[str, int] = field(default_factory=dict)  # field -> values with '?' in place of letters
    damaged_examples: list[str] = field(default_factory=list)
    csv_geometry: tuple[str, ...] = ()  # a CSV's WKT column or its lon and lat columns
    parquet: geoparquet.Info | None = None  # a GeoParquet file's or dataset's geometry column and CRS


def _prj_text(shp: Path) -> str | None:
    for prj in (shp.with_suffix(".prj"), shp.with_suffix(".PRJ")):
        if prj.exists():
            return prj.read_text(encoding="latin-1")
    return None


def prepare(source: Source, crs_override: str | None, encoding: str) -> Prepared:
    if source.driver == "CSV":
        return _prepare_csv(source, crs_override, encoding)
    if source.driver == "Parquet":
        return _prepare_parquet(source, crs_override)
    if source.driver == "GeoJSON":
        _refuse_json_nul(source)
    try:
        info = pyogrio.read_info(source.path, layer=source.layer, encoding="ISO-8859-1"
                                 if source.driver == "ESRI Shapefile" else None)
    except Exception as exc:
        raise LoadError(f"{source.display}: cannot be read ({exc})") from None
    if source.driver == "ESRI Shapefile":
        detection = detect_shapefile_encoding(source.path, encoding)
        crs_text = _prj_text(source.path)
    else:
        detection = Detection("utf-8", f"{source.driver} text is UTF-8 by definition") if encoding == "auto" \
            else Detection(encoding, "given with --encoding (text taken as a Latin-1 reading of those bytes)")
        crs_text = info.get("crs")
    has_geometry = info.get("geometry_type") is not None
    bounds = info.get("total_bounds")
    bounds = tuple(bounds) if bounds is not None and np.all(np.isfinite(bounds)) else None
    crs = resolve(crs_text, crs_override, bounds, source.display) if has_geometry else None
    try:
        with open_arrow(source.path, layer=source.layer, batch_size=1, use_pyarrow=True,
                        encoding="ISO-8859-1" if source.driver == "ESRI Shapefile" else None) as (meta, reader):
            geometry_name = _geometry_column(reader.schema, meta)
            schema = pa.schema([f for f in reader.schema if f.name != geometry_name])
    except Exception as exc:
        raise LoadError(f"{source.display}: cannot be read ({exc})") from None
    return Prepared(source, detection, crs, reprojection(crs) if crs else None, info.get("features"),
                    schema, has_geometry)


def _text_decoder(detection: Detection) -> Callable[[str], str] | None:
    return from_latin1(detection.encoding) if detection.encoding in LEGACY else None


def _decode_column(array: pa.Array, decoder: Callable[[str], str] | None) -> pa.Array:
    if array.null_count == len(array) or pc.all(pc.string_is_ascii(array)).as_py() is not False:
        return array
    if decoder is None:
        return pc.utf8_normalize(array, form="NFC")
    encoded = pc.dictionary_encode(array)
    values = [decoder(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(encoded.indices)


def _refuse_json_nul(source: Source) -> None:
    """GDAL reads GeoJSON text as C strings: "a\\u0000b" would arrive as "a", silently. Refuse the file instead."""
    tail = b""
    for chunk in _file_chunks(source.path):
        for match in JSON_NUL.finditer(tail + chunk):
            if len(match.group(1)) % 2:
                raise NulInText(f"{source.display}: a text value holds a NUL character (\\u0000), which cannot be "
                                "stored (and would be cut short at it); remove it from the file")
        tail = chunk[-16:]


def _decode_batch(batch: pa.RecordBatch, prepared: Prepared, decoder: Callable[[str], str] | None,
                  skip: str | None) -> pa.RecordBatch:
    columns, names = [], []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name != skip and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            if pc.any(pc.match_substring(column, "\x00")).as_py():
                example = pc.filter(column, pc.match_substring(column, "\x00"))[0].as_py()
                raise NulInText(f"{prepared.source.display}: field {name!r} holds a NUL character ({example!r}), "
                                "which cannot be stored; remove it from the source")
            column = _decode_column(column, decoder)
            damaged = pc.match_substring_regex(column, DAMAGE_PATTERN)
            count = pc.sum(damaged).as_py() or 0
            if count:
                prepared.damaged[name] = prepared.damaged.get(name, 0) + count
                if len(prepared.damaged_examples) < DAMAGE_EXAMPLES:
                    examples = pc.filter(column, damaged).unique().to_pylist()
                    prepared.damaged_examples += examples[:DAMAGE_EXAMPLES - len(prepared.damaged_examples)]
        columns.append(column)
        names.append(name)
    return pa.RecordBatch.from_arrays(columns, names=names)


def read_batches(prepared: Prepared, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
    """The source's features as record batches: decoded attributes + `geometry` (2D WKB, EPSG:4326)."""
    if prepared.source.driver == "CSV":
        yield from _csv_batches(prepared, batch_size)
        return
    if prepared.parquet is not None:
        for batch in geoparquet.iter_batches(prepared.source.path, prepared.parquet, batch_size):
            batch = _decode_batch(batch, prepared, None, prepared.parquet.geometry)
            yield _with_geometry(batch, prepared.parquet.geometry, prepared.reprojection)
        return
    source = prepared.source
    decoder = _text_decoder(prepared.encoding)
    if source.driver == "ESRI Shapefile":
        gdal_encoding = "ISO-8859-1" if decoder else ("UTF-8" if prepared.encoding.encoding == "utf-8"
                                                      else prepared.encoding.encoding.upper())
    else:
        gdal_encoding = None
    try:
        with open_arrow(source.path, layer=source.layer, batch_size=batch_size, use_pyarrow=True,
                        encoding=gdal_encoding) as (meta, reader):
            geometry_name = _geometry_column(reader.schema, meta)
            for batch in reader:
                batch = _decode_batch(batch, prepared, decoder, geometry_name)
                yield _with_geometry(batch, geometry_name, prepared.reprojection)
    except LoadError:
        raise
    except Exception as exc:  # GDAL: a file broken part-way through
        raise LoadError(f"{source.display}: reading failed part-way ({type(exc).__name__}: {exc})") from None


def _geometry_column(schema: pa.Schema, meta: dict) -> str | None:
    for f in schema:
        if (f.metadata or {}).get(b"ARROW:extension:name") == b"geoarrow.wkb":
            return f.name
    name = meta.get("geometry_name") or "wkb_geometry"
    return name if name in schema.names else None


def _with_geometry(batch: pa.RecordBatch, geometry_name: str | None, repro: Reprojection | None) -> pa.RecordBatch:
    names = [n for n in batch.schema.names if n != geometry_name]
    columns = [batch.column(n) for n in names]
    if geometry_name is not None:
        wkb = batch.column(geometry_name)
        if repro is not None and repro.transformer is not None:
            wkb = pa.array(repro.apply_wkb(wkb.to_numpy(zero_copy_only=False)), pa.binary())
        columns.append(wkb)
        names.append(GEOMETRY)
    return pa.RecordBatch.from_arrays(columns, names=names)


def _prepare_parquet(source: Source, crs_override: str | None) -> Prepared:
    """GeoParquet: UTF-8 text by definition, the CRS from its `geo` metadata (OGC:CRS84 when it says none)."""
    try:
        info = geoparquet.inspect(source.path)
    except geoparquet.GeoParquetError as exc:
        raise LoadError(f"{source.display}: {exc}") from None
    crs = resolve(info.crs_text or None, crs_override, info.bounds, source.display)
    return Prepared(source, Detection("utf-8", "GeoParquet text is UTF-8 by definition"), crs, reprojection(crs),
                    info.rows, info.attributes, True, parquet=info)


# ---------------------------------------------------------------------------------------------------
# CSV: WKT or lon/lat columns, read with pyarrow's streaming CSV reader

def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as f:
        line = f.readline()
    text = line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
    return [n.strip().strip('"') for n in text.split(",")]


def _file_chunks(path: Path, chunk_size: int = 8 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk


def _prepare_csv(source: Source, crs_override: str | None, encoding: str) -> Prepared:
    names = _csv_header(source.path)
    lower = {n.lower(): n for n in names}
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if wkt:
        geometry_columns: tuple[str, ...] = (wkt,)
    elif lon and lat:
        geometry_columns = (lon, lat)
    else:
        raise LoadError(f"{source.display}: a CSV needs a WKT column ({', '.join(WKT_NAMES)}) or lon/lat columns "
                        f"({'/'.join(LON_NAMES)} and {'/'.join(LAT_NAMES)}); its columns: {', '.join(names)}")
    given = Detection(encoding, "given with --encoding")
    detection = detect_from_csv(source.path) if encoding == "auto" else given
    crs = resolve(None, crs_override, None, source.display)  # degrees unless --crs; checked per batch
    fields = [pa.field(n, pa.string()) for n in names if n not in geometry_columns]
    return Prepared(source, detection, crs, reprojection(crs), None, pa.schema(fields), True,
                    csv_geometry=geometry_columns)


def detect_from_csv(path: Path) -> Detection:
    from spatial.io.encodings.detect import detect_from_words

    detection = detect_from_words(high_byte_words(_file_chunks(path)))
    detection.reason = f"CSV bytes: {detection.reason}"
    return detection


def _csv_batches(prepared: Prepared, batch_size: int) -> Iterator[pa.RecordBatch]:
    source = prepared.source
    decoder = _text_decoder(prepared.encoding)
    names = _csv_header(source.path)
    read = pacsv.ReadOptions(encoding="latin-1" if decoder else "utf8", block_size=max(1 << 20, batch_size * 64))
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                   quoted_strings_can_be_null=False)
    row = 1
    try:
        reader = pacsv.open_csv(source.path, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise LoadError(f"{source.display}: not a readable CSV ({exc})") from None
    with reader:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise LoadError(f"{source.display}: CSV broken after row {row - 1} ({exc})") from None
            batch = _decode_batch(batch, prepared, decoder, None)
            wkb = _csv_geometry(batch, prepared, row)
            keep = [n for n in batch.schema.names if n not in prepared.csv_geometry]
            row += batch.num_rows
            yield pa.RecordBatch.from_arrays([batch.column(n) for n in keep] + [wkb], names=[*keep, GEOMETRY])


def _csv_geometry(batch: pa.RecordBatch, prepared: Prepared, first_row: int) -> pa.Array:
    columns = prepared.csv_geometry
    display = prepared.source.display
    if len(columns) == 1:
        text = batch.column(columns[0]).to_numpy(zero_copy_only=False)
        try:
            geoms = shapely.from_wkt(text, on_invalid="raise")
        except shapely.errors.GEOSException:
            for i, value in enumerate(text):
                try:
                    shapely.from_wkt(value, on_invalid="raise")
                except shapely.errors.GEOSException as exc:
                    raise LoadError(f"{display}: row {first_row + i}: column {columns[0]!r} is not valid WKT "
                                    f"({str(value)[:60]!r}: {exc})") from None
            raise
    else:
        try:
            x = pc.cast(batch.column(columns[0]), pa.float64()).to_numpy(zero_copy_only=False)
            y = pc.cast(batch.column(columns[1]), pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid as exc:
            raise LoadError(f"{display}: rows {first_row}–{first_row + batch.num_rows - 1}: "
                            f"{columns[0]}/{columns[1]} must be numbers ({exc})") from None
        geoms = shapely.points(x, y)
        geoms[np.isnan(x) | np.isnan(y)] = None
    repro = prepared.reprojection
    if repro is not None and repro.transformer is None:
        bounds = shapely.total_bounds(geoms)
        if np.all(np.isfinite(bounds)) and not looks_geographic(tuple(bounds)):
            raise CrsError(missing_crs_message(display, tuple(bounds)))
    if repro is not None and repro.transformer is not None:
        transformer = repro.transformer
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return pa.array(shapely.to_wkb(geoms, output_dimension=2), pa.binary())

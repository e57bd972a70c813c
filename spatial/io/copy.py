"""PostgreSQL binary COPY bytes built from Arrow columns in bulk, with no Python loop over rows.

Each field becomes a binary array of `int32 length + payload` (or `-1` for NULL) and the fields of a row
are joined by Arrow's `binary_join_element_wise` in C++; the joined array's data buffer is the COPY body.
Geometry goes as WKB, which PostGIS's binary input (`geometry_recv`) reads directly.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10957  # 2000-01-01 - 1970-01-01

# stage column types, by what Arrow holds (INTEGER: the stage's own `src` column only)
INTEGER, BIGINT, FLOAT8, BOOLEAN, TEXT, DATE, JSONB, GEOMETRY = (
    "integer", "bigint", "double precision", "boolean", "text", "date", "jsonb", "geometry")


def pg_type_for(field: pa.Field) -> str:
    """The stage column type that holds an Arrow field losslessly (as text when nothing better fits)."""
    t = field.type
    extension = (field.metadata or {}).get(b"ARROW:extension:name", b"")
    if extension == b"arrow.json":
        return JSONB
    if pa.types.is_integer(t):
        return BIGINT
    if pa.types.is_floating(t):
        return FLOAT8
    if pa.types.is_boolean(t):
        return BOOLEAN
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t) or pa.types.is_map(t):
        return JSONB
    return TEXT


def _fixed(values: np.ndarray, width: int) -> pa.Array:
    n = len(values)
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(values.tobytes())])


def _prefixed(payload: pa.Array) -> pa.Array:
    """`int32 big-endian length + payload` per element; `-1` and no payload for NULL."""
    lengths = pc.fill_null(pc.binary_length(payload), -1).to_numpy(zero_copy_only=False).astype(">i4")
    return pc.binary_join_element_wise(_fixed(lengths, 4), pc.fill_null(payload, b""), b"")


def _as_binary(array: pa.Array) -> pa.Array:
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        array = array.cast(pa.large_binary()).cast(pa.binary())
    return array.cast(pa.binary()) if not pa.types.is_binary(array.type) else array


def _with_validity(values: pa.Array, array: pa.Array) -> pa.Array:
    if array.null_count == 0:
        return values
    return pc.if_else(array.is_valid(), values, pa.scalar(None, pa.binary()))


def encode_field(array: pa.Array | pa.ChunkedArray, pg_type: str) -> pa.Array:
    """One Arrow column → its binary COPY fields (length-prefixed)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_null(array.type):
        return _prefixed(pa.nulls(len(array), pa.binary()))
    if pg_type == INTEGER:
        values = pc.fill_null(array.cast(pa.int32()), 0).to_numpy().astype(">i4")
        return _prefixed(_with_validity(_fixed(values, 4), array))
    if pg_type == BIGINT:
        values = pc.fill_null(array.cast(pa.int64()), 0).to_numpy().astype(">i8")
        return _prefixed(_with_validity(_fixed(values, 8), array))
    if pg_type == FLOAT8:
        values = pc.fill_null(array.cast(pa.float64()), 0).to_numpy().astype(">f8")
        return _prefixed(_with_validity(_fixed(values, 8), array))
    if pg_type == BOOLEAN:
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False).astype(np.uint8)
        return _prefixed(_with_validity(_fixed(values, 1), array))
    if pg_type == DATE:
        days = pc.fill_null(array.cast(pa.date32()).cast(pa.int32()), 0).to_numpy().astype(np.int64)
        return _prefixed(_with_validity(_fixed((days - PG_EPOCH_DAYS).astype(">i4"), 4), array))
    if pg_type == JSONB:
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            text = _as_binary(array)
        else:
            text = pa.array([None if v is None else orjson.dumps(v) for v in array.to_pylist()], pa.binary())
        versioned = pc.binary_join_element_wise(pa.scalar(b"\x01", pa.binary()), text, b"")
        return _prefixed(versioned)
    if pg_type in (TEXT, GEOMETRY):
        if pg_type == TEXT and not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = array.cast(pa.string())
        return _prefixed(_as_binary(array))
    # a programming error, not a user's: stage types come from `pg_type_for` and the stage's own columns
    raise TypeError(f"no binary COPY encoder for the stage type {pg_type!r}")


def encode_rows(fields: list[pa.Array]) -> memoryview:
    """The COPY body (no signature/trailer) of rows made of already encoded fields."""
    n = len(fields[0])
    count = _fixed(np.full(n, len(fields), dtype=">i2"), 2)
    rows = pc.binary_join_element_wise(count, *fields, b"")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]]

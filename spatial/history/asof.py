"""The plan as it stood at an instant: SQL that any query reads instead of a layer table.

`history.<layer>` (migration 0014) holds every version of every feature; a version is valid from its
`valid_from` until the next version of the same feature (by `version`) begins, and a `delete` version means the
feature did not exist from then on. So the features of a layer at an instant T are the versions with
`valid_from <= T`, no later version of the same feature with `valid_from <= T`, and not deletions — one probe of
`(id, version) INCLUDE (valid_from)` per candidate. `layer_at(layer, T)` is that set as a subquery with the layer
table's own column names (and the version's: `version`, `valid_from`, `operation`, `who`, …), so the items, the
single item, `/locate`, the tiles and the exports keep their SQL and only read from another FROM item: the same
filters, sort orders, paging and CRS apply to the past as to the present.

A plan revision (a named state of the plan) is an instant too: whatever resolves a revision to the instant it was
published hands that instant to the same functions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from spatial.errors import InvalidParameter
from spatial.registry import Layer
from spatial.sqlbuild import Params

SCHEMA = "history"
# RFC 3339 date-time: a full date, a time (fractions allowed), and an offset (Z or ±hh:mm)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")
CLOCK_SKEW = timedelta(seconds=1)  # an instant this far ahead of our clock still counts as now


def parse_asof(text: str | None, parameter: str = "asof", *, now: datetime | None = None) -> datetime | None:
    """An `asof` value: an RFC 3339 date-time with its offset, not in the future (None when absent)."""
    if text is None:
        return None
    value = text.strip()
    if not RFC3339.match(value):
        raise InvalidParameter(f"{parameter}: {text!r} is not an RFC 3339 date-time with an offset, e.g. "
                               "2026-11-27T10:00:00+07:00 or 2026-11-27T03:00:00Z", parameter=parameter)
    head, sep, tail = value.replace("t", "T").replace(" ", "T").replace("z", "Z").partition(".")
    if sep:  # Python reads at most 6 digits of a second's fraction
        digits = re.match(r"\d+", tail)
        fraction = digits.group(0) if digits else ""
        head = f"{head}.{fraction[:6].ljust(6, '0')}{tail[len(fraction):]}"
    try:
        instant = datetime.fromisoformat(head.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidParameter(f"{parameter}: {text!r} is not a date-time ({exc})", parameter=parameter) from None
    if instant > (now or datetime.now(UTC)) + CLOCK_SKEW:
        raise InvalidParameter(f"{parameter}: {text!r} is in the future; the plan's history ends now",
                               parameter=parameter)
    return instant


def history_table(layer: Layer | str) -> str:
    """`history.<layer>`: the table of the layer's versions (names from the registry only)."""
    return f"{SCHEMA}.{layer if isinstance(layer, str) else layer.id}"


def valid_at(alias: str, layer: Layer | str, instant: str) -> str:
    """SQL condition: the version `alias` (a row of the layer's history) is the feature as it was at `instant` (a
    timestamptz SQL expression, e.g. a bound parameter), and the feature existed then."""
    return (f"{alias}.valid_from <= {instant} AND {alias}.operation <> 'delete' AND NOT EXISTS ("
            f"SELECT 1 FROM {history_table(layer)} later WHERE later.id = {alias}.id "
            f"AND later.version > {alias}.version AND later.valid_from <= {instant})")


def layer_at(layer: Layer | str, instant: str, *, extra: str = "", where: str = "") -> str:
    """A subquery (to use as a FROM item) of the layer's features as they were at `instant`, with the layer's own
    column names. `extra`: more select-list entries on the version `h`; `where`: a further condition on it (e.g. a
    spatial filter its index serves)."""
    condition = valid_at("h", layer, instant) + (f" AND {where}" if where else "")
    return f"(SELECT h.*{extra} FROM {history_table(layer)} h WHERE {condition})"


def source_sql(layer: Layer, asof: datetime | None, params: Params) -> str:
    """The FROM item a query of `layer` reads: its table, or (with `asof`) the layer as it stood then."""
    if asof is None:
        return layer.id
    return layer_at(layer, params.add(asof, "timestamptz"))

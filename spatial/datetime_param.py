"""The `datetime` parameter of OGC API – Features: an instant or an interval, parsed into (start, end).

RFC 3339 instants (a date covers its whole day in UTC), intervals `start/end` with `..` or nothing for an open end
(OGC API – Features Part 1, /req/core/fc-time-response). An interval may also give one end as an ISO 8601 duration
(`2018-02-12/P2D`, `P1M/2018-03-18T00:00:00Z`): the forms ISO 8601 allows, which the OGC test engine
(ets-ogcapi-features10) sends.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

from spatial.errors import InvalidParameter

Interval = tuple[datetime | None, datetime | None]
DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                      r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def _instant(text: str, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    if "T" not in text and len(text) == 10:  # a date: the whole day
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if end else start
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def shift(moment: datetime, duration: str, sign: int) -> datetime:
    """`moment` moved by an ISO 8601 duration (PnYnMnWnDTnHnMnS) forwards (sign 1) or backwards (sign -1)."""
    match = DURATION.fullmatch(duration)
    if match is None or duration == "P":
        raise ValueError(f"{duration!r} is not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in match.groups()[:6])
    seconds = float(match.group(7) or 0)
    moved = _add_months(moment, sign * (12 * years + months))
    return moved + sign * timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _interval(start_text: str, end_text: str) -> Interval:
    start_text, end_text = start_text.strip(), end_text.strip()
    if start_text.startswith("P"):
        end = _instant(end_text, True)
        if end is None:
            raise ValueError("a duration needs an instant at the other end")
        return shift(end, start_text, -1), end
    start = _instant(start_text, False)
    if end_text.startswith("P"):
        if start is None:
            raise ValueError("a duration needs an instant at the other end")
        return start, shift(start, end_text, 1)
    end = _instant(end_text, True)
    if start is None and end is None:
        raise ValueError("both ends open")
    if start is not None and end is not None and start > end:
        raise ValueError("start after end")
    return start, end


def parse_datetime(text: str | None) -> Interval | None:
    """OGC `datetime`: an instant (date or date-time) or an interval `start/end` with `..` (or nothing) open."""
    if text is None:
        return None
    try:
        if "/" in text:
            return _interval(*text.split("/", 1))
        start, end = _instant(text, False), _instant(text, True)
        if start is None:
            raise ValueError("empty")
        return start, end
    except ValueError as exc:
        raise InvalidParameter(f"datetime: {text!r} is not an RFC 3339 instant or interval ({exc})",
                               parameter="datetime") from None

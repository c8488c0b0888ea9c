"""Turning the tools' many time formats into Unix seconds (``float``, UTC), and back to text.

Every parser here returns ``None`` for anything it does not understand (wrong type, garbage,
out of range) instead of raising: a bad timestamp in one record must not cost the item.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from typing import Any

__all__ = ["format_time", "parse_epoch", "parse_iso", "parse_time"]

# 1970-01-01 .. 9999-12-31: anything outside is a unit mistake or garbage.
_MAX_SECONDS = 253402300799.0
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Memos (bounded: cleared when full; dict operations are atomic, so threads may share them).
_MEMO_SIZE = 8192
_ISO_MEMO: dict[str, float | None] = {}
_DAY_MEMO: dict[int, str] = {}
_SECOND_MEMO: dict[int, str] = {}
_MISSING = object()


def parse_iso(value: Any) -> float | None:
    """Parse an ISO 8601 / RFC 3339 string (``2025-07-19T22:21:00.576Z``) to Unix seconds.

    A string without a UTC offset is taken as UTC. Returns ``None`` if ``value`` is not such
    a string.
    """
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    if type(value) is not str:  # a subclass may compare or hash oddly: no memo
        return _parse_iso(value)
    result = _ISO_MEMO.get(value, _MISSING)
    if result is not _MISSING:
        return result  # type: ignore[return-value]
    result = _parse_iso(value)
    if len(_ISO_MEMO) >= _MEMO_SIZE:
        _ISO_MEMO.clear()
    _ISO_MEMO[value] = result
    return result


def _parse_iso(value: str) -> float | None:
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def parse_epoch(value: Any, *, unit: str = "s") -> float | None:
    """Parse a number of seconds (``unit="s"``) or milliseconds (``unit="ms"``) since the epoch.

    Booleans, NaN, infinities and values outside year 1970..9999 give ``None``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value) / (1000.0 if unit == "ms" else 1.0)
    if not math.isfinite(seconds) or not 0 <= seconds <= _MAX_SECONDS:
        return None
    return seconds


def parse_time(value: Any, *, numeric_unit: str = "s") -> float | None:
    """Parse either an ISO string or an epoch number (in ``numeric_unit``); ``None`` otherwise."""
    if isinstance(value, str):
        return parse_iso(value)
    return parse_epoch(value, unit=numeric_unit)


def format_time(seconds: float | None) -> str:
    """``2025-07-19 22:21:00 UTC`` for Unix ``seconds``; ``"unknown time"`` for ``None``/invalid."""
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= _MAX_SECONDS:
        return "unknown time"
    # What datetime.fromtimestamp(seconds, tz=timezone.utc).strftime(...) gives, without its
    # cost: the fraction is rounded to microseconds half-to-even (it may carry into the next
    # second), then dropped.
    fraction, whole = math.modf(seconds)
    second = int(whole)
    if fraction >= 0.99999949:
        second += round(fraction * 1e6) >= 1_000_000
    text = _SECOND_MEMO.get(second)
    if text is None:
        days, rest = divmod(second, 86400)
        day = _DAY_MEMO.get(days)
        if day is None:
            day = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
            if len(_DAY_MEMO) >= _MEMO_SIZE:
                _DAY_MEMO.clear()
            _DAY_MEMO[days] = day
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{day} {hours:02d}:{minutes:02d}:{secs:02d} UTC"
        if len(_SECOND_MEMO) >= _MEMO_SIZE:
            _SECOND_MEMO.clear()
        _SECOND_MEMO[second] = text
    return text

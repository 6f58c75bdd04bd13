"""Durations and timestamps as people write them in operational records.

Sample inputs: ``**Duration**: 2m 30s`` · ``**Time**: ~1.5 minutes`` · ``00:02:30`` ·
``### Bash - 2025-12-23T14:30:52Z`` · ``- **14:31** — error`` · ``1766500252``.

Every datetime returned is naive and means UTC (see ``model``): aware values are converted
with ``to_utc_naive``; bare clock times without a zone are taken as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# ------------------------------------------------------------------ durations

_UNIT_SECONDS: dict[str, float] = {}
for _names, _secs in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    (("s", "sec", "secs", "second", "seconds", "sek", "sekunde", "sekunden"), 1.0),
    (("m", "min", "mins", "minute", "minutes", "minuten"), 60.0),
    (("h", "hr", "hrs", "hour", "hours", "std", "stunde", "stunden"), 3600.0),
    (("d", "day", "days", "tag", "tage"), 86400.0),
):
    for _name in _names:
        _UNIT_SECONDS[_name] = _secs

_UNIT_ALT = "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True))
# "2m30s" has no word boundary between "m" and "3": a letter lookahead ends the unit instead.
# numbers start at a digit boundary and are bounded, so a long digit run cannot backtrack
_NUM = r"(?<![\d.])(\d{1,9}(?:\.\d{1,6})?)(?![\d])"
_PAIR = re.compile(rf"{_NUM}\s*+({_UNIT_ALT})\.?(?![a-z])", re.IGNORECASE)
_RANGE = re.compile(
    rf"{_NUM}\s*+(?:-|–|—|to)\s*+(\d{{1,9}}(?:\.\d{{1,6}})?)\s*+({_UNIT_ALT})\.?(?![a-z])",
    re.IGNORECASE,
)
_PAIR_SEP = re.compile(r"[\s,]*(?:and\s+)?")
_CLOCK = re.compile(r"(?<![\d:])(\d{1,3}):([0-5]\d)(?::([0-5]\d)(?:\.(\d+))?)?(?![\d:])")
_ISO_DURATION = re.compile(
    r"\bP(?:(\d+(?:\.\d+)?)D)?T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?\b"
)
_BARE_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)$")
_HEDGES = re.compile(r"^(?:~|≈|about|approx\.?|approximately|around|roughly|circa|ca\.)\s*", re.I)
# a duration a remark leads with: "(took ~40s", "Dauer ca. 2 Min. 20 Sek.", "exit 0, took 1m 20s",
# "~6 minutes"; the keyword or hedge is what makes a number in prose a duration
_REMARK = re.compile(
    r"(?:\(|[—–]|\b(?:took|taking|dauer(?:te)?|elapsed|lief|after(?:\s+roughly|\s+about)?)\b:?"
    r"|(?<!\w)(?=~|≈)"
    r"|\b(?:ca\.|circa)(?=\s*\d))\s*+(?:(?:~|≈|about|approx\.?|roughly|around|circa|ca\.)\s*+)?"
    r"(?=\d)",
    re.IGNORECASE,
)


def parse_duration(text: str) -> float | None:
    """Seconds for a written duration (``45s``, ``2m 30s``, ``1.5 minutes``, ``00:02:30``), else None."""
    s = text.strip().strip("*`_").strip()
    while True:
        stripped = _HEDGES.sub("", s, count=1)
        if stripped == s:
            break
        s = stripped
    if not s:
        return None
    if m := _BARE_NUMBER.match(s):
        return float(m.group(1))  # a bare number in a Duration field is seconds
    if m := _ISO_DURATION.search(s):
        d, h, mi, se = (float(g) if g else 0.0 for g in m.groups())
        if any(m.groups()):
            return d * 86400 + h * 3600 + mi * 60 + se
    if m := _RANGE.search(s):
        # "2-3 minutes": a range becomes its midpoint
        lo, hi = float(m.group(1)), float(m.group(2))
        return (lo + hi) / 2 * _UNIT_SECONDS[m.group(3).lower()]
    pair = _PAIR.search(s)
    clock = _CLOCK.search(s)
    if clock and (pair is None or clock.start() < pair.start()):
        a, b, c, frac = clock.groups()
        if c is None:  # "02:30" as a duration is minutes:seconds
            return float(int(a) * 60 + int(b))
        return int(a) * 3600 + int(b) * 60 + int(c) + (float("0." + frac) if frac else 0.0)
    if pair is None:
        return None
    total = 0.0
    pos = pair.start()
    while (m := _PAIR.match(s, pos)) is not None:
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
        sep = _PAIR_SEP.match(s, m.end())
        pos = sep.end() if sep else m.end()
    return round(total, 6)


def leading_duration(text: str) -> float | None:
    """Seconds for a duration at the very start of ``text`` (``2m 10s, migrations…``), else None."""
    pos = 0
    total: float | None = None
    end = 0
    while (m := _PAIR.match(text, pos)) is not None:
        total = (total or 0.0) + float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
        end = m.end()
        sep = _PAIR_SEP.match(text, m.end())
        pos = sep.end() if sep else m.end()
    if total is not None:
        # "5d8e2b7c1f09" is a hex id, not five days: a duration ends at a word boundary
        return None if text[end : end + 1].isalnum() else round(total, 6)
    clock = _CLOCK.match(text)
    if clock and clock.group(3) is not None:  # "(0:01:52)": h:mm:ss only; "14:02" is a time of day
        a, b, c, frac = clock.groups()
        return int(a) * 3600 + int(b) * 60 + int(c) + (float("0." + frac) if frac else 0.0)
    return None


def remark_duration(text: str) -> float | None:
    """The first duration a remark states: ``(took ~40s)``, ``took 1m 20s``, ``Dauer ca. 2 Min.``."""
    for m in _REMARK.finditer(text):
        seconds = leading_duration(text[m.end() : m.end() + 40])
        if seconds is not None:
            return seconds
    return None


# ----------------------------------------------------------------- timestamps

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_TZ = r"(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
_TIME = (
    r"(?P<h>\d{1,2})(?::|h(?=[0-5]\d(?!\d)))(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d|60)(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?:\s*(?P<ampm>[AaPp][Mm])\b)?"
)
_DATE_TIME = re.compile(
    r"(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:(?:[T ]|\s+)" + _TIME + r")?\s?" + _TZ
)
_SYSLOG = re.compile(  # "Dec 23 14:30:52" and "23/Dec/2025:14:30:52 +0000"
    r"(?:(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+|(?P<d2>\d{1,2})/(?P<mon2>[A-Za-z]{3})/(?P<y>\d{4}):)"
    + _TIME
    + r"\s?"
    + _TZ
)
_BARE_TIME = re.compile(_TIME + r"\s?" + _TZ)
_EPOCH = re.compile(r"^(\d{10}|\d{13})(?:\.(\d+))?$")


@dataclass(frozen=True, slots=True)
class Stamp:
    """A timestamp as found in text: the date may be missing (``14:30:52 deploy started``)."""

    day: date | None
    clock: time
    utc_offset: timedelta | None = None  # None: no zone written (taken as UTC)
    has_time: bool = True  # False for a date alone ("## 2025-03-02 deploy")

    def resolve(self, default_date: date | None = None) -> datetime | None:
        """The UTC-naive datetime, using ``default_date`` when the text had no date."""
        day = self.day or default_date
        if day is None:
            return None
        dt = datetime.combine(day, self.clock)
        if self.utc_offset:
            dt -= self.utc_offset
        return dt


def to_utc_naive(dt: datetime) -> datetime:
    """Convert an aware datetime to naive UTC; naive values are returned unchanged."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt
    return dt.astimezone(UTC).replace(tzinfo=None)


def _offset(tz: str | None) -> timedelta | None:
    if not tz:
        return None
    if tz.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))


def _clock(m: re.Match[str]) -> time | None:
    h, mi = int(m.group("h")), int(m.group("mi"))
    s = min(int(m.group("s") or 0), 59)  # a leap second clamps rather than fails
    frac = m.group("f") or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    ampm = (m.group("ampm") or "").lower()
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm == "pm" else 0)
    if h > 23:
        return None
    return time(h, mi, s, micro)


def _stamp(m: re.Match[str]) -> Stamp | None:
    """Build a Stamp from a match of one of the timestamp patterns."""
    groups = m.groupdict()
    day: date | None = None
    try:
        if groups.get("mo") is not None:
            day = date(int(groups["y"]), int(groups["mo"]), int(groups["d"]))
        elif groups.get("mon") or groups.get("mon2"):
            month = _MONTHS.get((groups.get("mon") or groups.get("mon2") or "").lower())
            if month is None:
                return None
            if groups.get("y"):
                day = date(int(groups["y"]), month, int(groups["d2"]))
            # syslog lines carry no year: keep the clock only
    except ValueError:
        return None
    if groups.get("h") is None:
        if day is None:
            return None
        return Stamp(day, time(0), _offset(groups.get("tz")), has_time=False)
    clock = _clock(m)
    if clock is None:
        return None
    return Stamp(day, clock, _offset(groups.get("tz")))


def parse_timestamp(text: str, default_date: date | None = None) -> datetime | None:
    """A UTC-naive datetime for ISO 8601, ``YYYY-MM-DD HH:MM:SS``, epoch seconds or a bare time."""
    s = text.strip().strip("*`[]()").strip()
    if m := _EPOCH.match(s):
        seconds = int(m.group(1)) / (1000 if len(m.group(1)) == 13 else 1)
        if m.group(2):
            seconds += float("0." + m.group(2))
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    for pattern in (_DATE_TIME, _SYSLOG, _BARE_TIME):
        m = pattern.fullmatch(s)
        if m is None:
            continue
        st = _stamp(m)
        return st.resolve(default_date) if st else None
    return None


# list markers, emphasis and brackets; "@14:02", "~14:02", "at 14:02", "um 14:02" lead too
_LEAD = re.compile(
    r"^[\s>*_`|\[(•·-]*(?:\d+\.\s+)?[\s*_`\[(]*(?:(?:[@~]|(?:at|um|ca\.)\s)\s*(?=\d))?"
)
_TRAIL = re.compile(r"^[\s*_`\])]*(?:[-–—:|]+|\.\s)?[\s*_`]*")


def find_timestamp(line: str) -> tuple[Stamp, str] | None:
    """A timestamp leading a timeline line (``- **14:31** — error``) and the text after it."""
    lead = _LEAD.match(line)
    start = lead.end() if lead else 0
    for pattern in (_DATE_TIME, _SYSLOG, _BARE_TIME):
        m = pattern.match(line, start)
        if m is None:
            continue
        # "14:30 -> 14:35" or "1:2" inside a number are not timeline stamps: require a boundary
        if m.end() < len(line) and (line[m.end()].isalnum() and not line[m.end() - 1].isspace()):
            continue
        st = _stamp(m)
        if st is None:
            continue
        rest = line[m.end() :]
        trail = _TRAIL.match(rest)
        rest = rest[trail.end() :] if trail else rest
        return st, rest.strip()
    return None

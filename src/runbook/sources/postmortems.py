"""Post-mortems: incident write-ups in markdown → an incident Execution plus an error Journal.

Sample line (a timeline table row): ``| 14:31 | `helm rollback checkout-api 41 -n checkout` |``.

Post-mortems are written from templates that all share a few parts, named in many ways:
Summary, Impact, Detection, Root cause(s) / Trigger, Resolution / Mitigation / Recovery, Action
items / Follow-ups / Corrective actions, Lessons learned, and a Timeline — a pipe table whose
time column may be called Time, Timestamp or When (UTC) and whose event column Event, What
happened or Action (in any order), or a list of timestamped lines. Parts are headings of any
level or label lines (``**Root cause**: ...``, ``Fix:`` above a fence).

The timeline gives the incident's times: the first entry that reads as detection (an alert
fired, someone was paged) starts the response, the first that reads as resolution (mitigated,
resolved, back to normal) ends it. Commands come from backticks in timeline entries (timed) and
from the mitigation / resolution / investigation parts; commands under action items and lessons
were never run and are ignored. Times with no zone use a zone stated once for the document
("all times PDT", a ``Time (UTC-7)`` column), else they are taken as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath

from runbook.config import Config
from runbook.model import (
    Command,
    Diagnostic,
    ErrorEvent,
    EvidenceKind,
    Execution,
    Journal,
    Outcome,
    ParsedFile,
    SourceRef,
)
from runbook.sources.common import (
    DATE_IN,
    LOOSE_INFOS,
    Table,
    command_key,
    environment_name,
    fence_commands,
    front_matter_diagnostics,
    is_error_line,
    looks_like_command,
    merge_commands,
    meta_datetime,
    outcome_word,
    roll_days,
    tables,
    unique,
    ymd_date,
)
from runbook.sources.markdown import (
    Document,
    boolean,
    heading_matches,
    label,
    norm_heading,
    scalar,
    words_list,
)
from runbook.timeparse import Stamp, find_timestamp, parse_timestamp

MAX_ERRORS = 20
_UNDATED = date(1900, 1, 1)  # stand-in day for clock times in a document that names no date
MAX_COMMANDS = 200

_ROLES: dict[str, tuple[str, ...]] = {
    "timeline": (
        "timeline",
        "incident timeline",
        "detailed timeline",
        "chronology",
        "sequence of event",
        "event log",
        "events",
        "time line",
    ),
    "summary": (
        "summary",
        "executive summary",
        "incident summary",
        "overview",
        "tl dr",
        "tldr",
        "what happened",
        "description",
        "background",
    ),
    "impact": ("impact", "customer impact", "user impact", "business impact", "blast radius"),
    "detection": ("detection", "how it was detected", "how we found out", "detected", "alerting"),
    "root_cause": (
        "root cause",
        "cause",
        "root cause analysis",
        "rca",
        "contributing factor",
        "trigger",
        "why it happened",
        "five whys",
        "5 whys",
    ),
    "resolution": (
        "resolution",
        "mitigation",
        "remediation",
        "recovery",
        "fix",
        "the fix",
        "how it was fixed",
        "resolution and recovery",
        "workaround",
        "response",
        "immediate action",
        "actions taken",
        "steps taken",
    ),
    "investigation": ("investigation", "diagnosis", "troubleshooting", "analysis", "debugging"),
    "actions": (
        "action item",
        "follow up",
        "follow ups",
        "followup",
        "corrective action",
        "corrective and preventative",
        "preventive action",
        "preventative action",
        "prevention",
        "next step",
        "remediation item",
        "todo",
        "to do",
        "task",
    ),
    "lessons": (
        "lessons learned",
        "lesson",
        "what went well",
        "what went wrong",
        "where we got lucky",
        "what we learned",
        "takeaway",
        "learnings",
    ),
}
_ROLE_KEYS = {role: tuple(norm_heading(v) for v in vs) for role, vs in _ROLES.items()}
# parts whose commands were run during the incident
_RUN_ROLES = frozenset({"timeline", "resolution", "investigation", "detection"})
_NOT_RUN_ROLES = frozenset({"actions", "lessons", "root_cause", "impact", "summary"})
_HEADER_KEYS = {
    "date": "date",
    "incident date": "date",
    "status": "status",
    "incident status": "status",
    "severity": "severity",
    "sev": "severity",
    "priority": "severity",
    "impact level": "severity",
    "level": "severity",
    "environment": "environment",
    "env": "environment",
    "author": "owner",
    "owner": "owner",
    "incident commander": "owner",
    "ic": "owner",
    "incident owner": "owner",
    "service": "services",
    "affected service": "services",
    "component": "services",
    "system": "services",
    "started": "start",
    "start": "start",
    "start time": "start",
    "incident start": "start",
    "began": "start",
    "detected": "detected",
    "detected at": "detected",
    "detection time": "detected",
    "resolved": "resolved",
    "resolved at": "resolved",
    "resolution time": "resolved",
    "mitigated": "resolved",
    "mitigated at": "resolved",
    "end": "resolved",
    "ended": "resolved",
    "end time": "resolved",
}
_DETECT = re.compile(
    r"\b(?:alerts?|alarms?|paged?|pages|paging|pagerduty|opsgenie|detected|noticed|reported|"
    r"fire|fires|fired|firing|triggered|outage begins|incident (?:declared|opened|started|begins)|"
    r"declared|escalated)\b",
    re.I,
)
_RESOLVE = re.compile(
    r"\b(?:resolved|mitigated|recovered|restored|back to normal|all clear|outage ends|"
    r"fully operational|back under|back to baseline|baseline|recovery complete|stable again|"
    r"issue fixed|service restored)\b",
    re.I,
)
_CLOSED = re.compile(r"\b(?:closed|incident ends|ended|postmortem)\b", re.I)
_ERROR_MENTION = re.compile(r"\b(?:errors?|exceptions?|failed|failing|failure|logs? show)\b", re.I)
_ERROR_PROSE = re.compile(
    r"^\s*+(?:>\s*)?(?:[-*+]\s+)?(?:\*\*|__)?(?:Error|ERROR|Fatal|FATAL|Exception)(?:\*\*|__)?"
    r"\s*:\s*(?:\*\*|__)?\s*\S"
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s|^\s{0,3}(?:=+|-+)\s*$")
_HEADING_MARK = re.compile(r"^\s{0,3}#{1,6}\s+")
_BACKTICKED = re.compile(r"`([^`\n]{2,400})`")
_SEVERITY = re.compile(r"\b(?:SEV|Sev|sev)[- ]?([0-5])\b|\b(P[0-4])\b")
# "all times UTC", "times are PDT", "Time (UTC-7)", "(UTC+02:00)"
_ZONE_ABBR = {
    "utc": 0.0,
    "gmt": 0.0,
    "z": 0.0,
    "pt": -8.0,
    "mt": -7.0,
    "ct": -6.0,
    "et": -5.0,
    "pst": -8.0,
    "pdt": -7.0,
    "mst": -7.0,
    "mdt": -6.0,
    "cst": -6.0,
    "cdt": -5.0,
    "est": -5.0,
    "edt": -4.0,
    "bst": 1.0,
    "cet": 1.0,
    "cest": 2.0,
    "eet": 2.0,
    "eest": 3.0,
    "ist": 5.5,
    "sgt": 8.0,
    "jst": 9.0,
    "kst": 9.0,
    "aest": 10.0,
    "aedt": 11.0,
}
_ZONE = re.compile(
    r"(?<![\w-])(UTC|GMT|[PMCE][SD]T|(?-i:[PMCE]T)|BST|CES?T|EES?T|IST|SGT|JST|KST|AES?T|AEDT)"
    r"(?:\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?)?(?![\w])",
    re.I,
)
_ZONE_CONTEXT = re.compile(
    r"\b(?:all )?times?\b|\btimeline\b|\bzone\b|^\s*\(|\d:[0-5]\d(?:\s*[ap]m)?\s*$", re.I
)
_TIME_COLUMNS = ("time", "timestamp", "when", "at", "clock", "date time", "datetime", "start")
_EVENT_COLUMNS = (
    "event",
    "what happened",
    "what",
    "action",
    "description",
    "activity",
    "update",
    "detail",
    "note",
    "summary",
    "step",
    "message",
)
_ACTION_COLUMNS = ("action item", "action", "item", "task", "description", "what", "title", "ai")


@dataclass
class _Entry:
    """One timeline entry: when, what, its 1-based line."""

    at: datetime | None
    text: str
    line: int


@dataclass
class _Parts:
    """Text, commands and lines gathered per role."""

    text: dict[str, list[str]] = field(default_factory=dict)
    ranges: list[tuple[int, int, str]] = field(default_factory=list)  # 0-based [a, b), role

    def add(self, role: str, text: str) -> None:
        if text.strip():
            self.text.setdefault(role, []).append(text.strip())

    def joined(self, role: str, limit: int = 4000) -> str:
        return "\n\n".join(self.text.get(role, []))[:limit]

    def role_at(self, index: int) -> str | None:
        found = [(b - a, r) for a, b, r in self.ranges if a <= index < b]
        return min(found)[1] if found else None


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """One post-mortem → an incident-response Execution and an error Journal."""
    doc = Document(text)
    diags = front_matter_diagnostics(doc, rel, "ignored")
    limit = config.output_excerpt_chars
    parts = _parts(doc)
    header = _header(doc, parts)
    day = _day(doc, rel, header)
    offset = _zone(doc)
    # clock times with no date anywhere still give durations: read them on a stand-in day
    clock_day = day or _UNDATED
    entries = _timeline(doc, parts, clock_day, offset)
    title = (
        scalar(doc.meta.get("title"))
        or doc.title
        or PurePosixPath(rel).stem.replace("-", " ").replace("_", " ")
    )[:200]

    detect = next((e for e in entries if e.at and _DETECT.search(e.text)), None)
    timed = [e for e in entries if e.at is not None]
    start_entry = detect or (timed[0] if timed else None)
    resolve = None
    if start_entry is not None:
        after = [e for e in timed if e.line != start_entry.line and e.at and start_entry.at]
        after = [e for e in after if e.at and start_entry.at and e.at >= start_entry.at]
        resolve = next((e for e in after if _RESOLVE.search(e.text)), None) or next(
            (e for e in after if _CLOSED.search(e.text)), None
        )
    started = start_entry.at if start_entry else None
    started = (
        _header_time(header.get("detected") or header.get("start"), clock_day, offset) or started
    )
    finished = resolve.at if resolve else None
    finished = finished or _header_time(header.get("resolved"), clock_day, offset)
    if started is not None and finished is not None and finished < started:
        finished = None
    if started is None and day is not None:
        started = datetime.combine(day, datetime.min.time())

    commands, trigger, fixes = _commands(doc, rel, parts, entries, started, limit)
    errors = _errors(doc, rel, parts, entries)
    duration = (finished - started).total_seconds() if started and finished else None
    if day is None:  # the stand-in day is no date: keep the durations, drop the datetimes
        started, finished = _dated(started), _dated(finished)
        commands = [replace(c, started_at=_dated(c.started_at)) for c in commands]
        fixes = [replace(c, started_at=_dated(c.started_at)) for c in fixes]
        errors = [replace(e, at=_dated(e.at)) for e in errors]
    status = header.get("status", "") or scalar(doc.meta.get("status")) or ""
    resolved = boolean(doc.meta.get("resolved"))
    word = outcome_word(status) if status else None
    if resolved is None and status:
        resolved = True if word is Outcome.SUCCESS else boolean(status.split()[0].strip(",."))
    if resolved is None and (resolve is not None or header.get("resolved")):
        resolved = True
    if resolved is None and parts.text.get("resolution"):
        resolved = True
    outcome = Outcome.SUCCESS if resolved else Outcome.UNKNOWN

    severity = (
        scalar(doc.meta.get("severity"))
        or scalar(doc.meta.get("sev"))
        or scalar(doc.meta.get("priority"))
        or header.get("severity")
        or _severity_in(title)
    )
    env_text = (
        scalar(doc.meta.get("environment"))
        or scalar(doc.meta.get("env"))
        or header.get("environment")
    )
    environment = environment_name(env_text.split(",")[0]) if env_text else None
    if environment is None and re.search(
        r"\b(?:production|prod)\b",
        " ".join((title, parts.joined("summary"), parts.joined("impact"))),
        re.I,
    ):
        environment = "prod"
    services = words_list(doc.meta.get("services") or doc.meta.get("service"))
    services = services or words_list(header.get("services", ""))
    tags = tuple(sorted({"postmortem", *words_list(doc.meta.get("tags")), *services}))

    notes: list[str] = []
    for role, name in (
        ("impact", "Impact"),
        ("detection", "Detection"),
        ("root_cause", "Root cause"),
        ("resolution", "Resolution"),
        ("lessons", "Lessons learned"),
    ):
        text_ = " ".join(parts.joined(role, 600).split())
        if text_:
            notes.append(f"{name}: {text_[:300]}")
    if trigger:
        notes.append("Before detection: " + "; ".join(c.text for c in trigger)[:300])
    if start_entry is not None and started is not None:
        span = f"detected {started:%Y-%m-%d %H:%M}"
        if finished is not None and duration is not None:
            span += f", resolved {finished:%H:%M} ({duration / 60:g} min)"
        notes.append(f"Timeline: {span}")
    elif duration is not None:
        notes.append(f"Timeline: resolved {duration / 60:g} min after detection (no date given)")

    summary = parts.joined("summary", 1000) or _first_paragraph(doc)
    execution = Execution(
        id=rel,
        source=SourceRef(rel, 1),
        kind=EvidenceKind.POSTMORTEM,
        title=title,
        context=" ".join(summary.split())[:1000],
        environment=environment,
        started_at=started,
        finished_at=finished,
        duration_s=duration,
        outcome=outcome,
        commands=tuple(commands),
        errors=tuple(errors),
        notes=tuple(notes),
        tags=tags,
        severity=_severity_name(severity),
        resolved=resolved,
        declared_type="incident-response",
        owner=(
            scalar(doc.meta.get("owner"))
            or scalar(doc.meta.get("author"))
            or _first_name(header.get("owner", ""))
        ),
    )
    journal = _journal(
        execution, parts, doc, day, fixes or commands, errors, resolve.text if resolve else ""
    )
    recognized = bool(entries or commands or parts.text)
    if not recognized:
        diags.append(
            Diagnostic(
                SourceRef(rel),
                "no timeline, commands or post-mortem sections recognized; nothing read",
            )
        )
        return ParsedFile(path=rel, kind=EvidenceKind.POSTMORTEM, diagnostics=tuple(diags))
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.POSTMORTEM,
        executions=(execution,),
        journals=(journal,),
        diagnostics=tuple(diags),
    )


# ------------------------------------------------------------------ structure


def _role(key: str) -> str | None:
    for role, keys in _ROLE_KEYS.items():
        if any(heading_matches(key, k) for k in keys):
            return role
    return None


def _parts(doc: Document) -> _Parts:
    """Role regions from headings and from label lines (``**Root cause**: ...``, ``Fix:``)."""
    parts = _Parts()
    headed: list[tuple[int, int]] = []
    for sec in doc.sections[1:]:
        role = _role(sec.key)
        if role is None:
            continue
        if any(a <= sec.line - 1 < b and r == role for a, b, r in parts.ranges):
            continue  # "### What went well" under "## Lessons learned": already in its text
        parts.ranges.append((sec.start, sec.end, role))
        headed.append((sec.start, sec.end))
        parts.add(role, _prose(doc, sec.start, sec.end))
    label_lines: list[tuple[int, str, str]] = []
    for i, line in doc.prose(doc.body_start, len(doc.lines)):
        lab = label(line)
        if lab is not None:
            label_lines.append((i, lab[0], lab[1]))
    heads = sorted(s.line - 1 for s in doc.sections[1:])
    for k, (i, name, value) in enumerate(label_lines):
        role = _role(name)
        if role is None:
            continue
        if any(a <= i < b for a, b in headed) and role not in ("root_cause", "resolution"):
            # a label inside a headed part is part of that part's text already
            continue
        nxt = label_lines[k + 1][0] if k + 1 < len(label_lines) else len(doc.lines)
        nxt = min([nxt, *(h for h in heads if h > i)])
        if value:
            end = i + 1
            while end < nxt and doc.lines[end].strip():
                end += 1
            parts.add(role, " ".join([value, *(doc.lines[j].strip() for j in range(i + 1, end))]))
        else:
            end = nxt
            parts.add(role, _prose(doc, i + 1, end))
        parts.ranges.append((i, end, role))
    return parts


def _prose(doc: Document, start: int, end: int, limit: int = 4000) -> str:
    lines = [ln.rstrip() for _, ln in doc.prose(start, end) if not _HEADING.match(ln)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()[:limit]


def _header(doc: Document, parts: _Parts) -> dict[str, str]:
    """Header facts from label lines and a two-column key/value table near the top."""
    out: dict[str, str] = {}
    for i, line in doc.prose(doc.body_start, len(doc.lines)):
        if parts.role_at(i) in ("timeline", "actions"):
            continue
        for chunk in re.split(r"(?<!\s)\s+[·•|]\s+|\s+·\s+", line):
            lab = label(chunk)
            if lab is None or not lab[1]:
                continue
            key = _HEADER_KEYS.get(lab[0])
            if key and key not in out:
                out[key] = lab[1].strip("*_` ")[:200]
    for table in tables(doc, doc.body_start, len(doc.lines)):
        if len(table.header) != 2:
            continue
        for _, cells in ((0, table.header), *table.rows):
            if len(cells) >= 2:
                key = _HEADER_KEYS.get(norm_heading(cells[0]))
                if key and key not in out and cells[1].strip():
                    out[key] = cells[1].strip("*_` ")[:200]
    return out


def _day(doc: Document, rel: str, header: dict[str, str]) -> date | None:
    """The incident's date: front matter, a Date label, the file name, the title, a timeline line."""
    day, _ = meta_datetime(doc.meta, None)
    if day is not None:
        return day
    for text in (header.get("date", ""), PurePosixPath(rel).name, doc.title):
        m = DATE_IN.search(text)
        if m:
            found = ymd_date(m)
            if found is not None:
                return found
            continue
        dt = parse_timestamp(text.split(" (")[0].strip(), None) if text else None
        if dt is not None:
            return dt.date()
    for _, line in doc.prose(doc.body_start, len(doc.lines)):
        m = DATE_IN.search(line)
        found = ymd_date(m) if m else None
        if found is not None:
            return found
    return None


def _dated(at: datetime | None) -> datetime | None:
    return None if at is None or at.year == _UNDATED.year else at


def _zone_offset(m: re.Match[str]) -> timedelta:
    hours = _ZONE_ABBR.get(m.group(1).lower(), 0.0)
    if m.group(2) and m.group(3):
        sign = -1 if m.group(2) in "-−" else 1
        hours += sign * (int(m.group(3)) + int(m.group(4) or 0) / 60)
    return timedelta(hours=hours)


def _zone(doc: Document) -> timedelta | None:
    """The zone the document states for its clock times ("all times PDT"), if any."""
    for _, line in doc.prose(doc.body_start, len(doc.lines)):
        for m in _ZONE.finditer(line):
            before = line[max(0, m.start() - 40) : m.start()]
            if _ZONE_CONTEXT.search(before) or line.lstrip("|# ").lower().startswith(
                ("time", "when", "timestamp")
            ):
                return _zone_offset(m)
    return None


def _resolve(stamp: Stamp, day: date | None, offset: timedelta | None) -> datetime | None:
    at = stamp.resolve(day)
    if at is not None and stamp.utc_offset is None and offset:
        at -= offset
    return at


def _header_time(value: str | None, day: date | None, offset: timedelta | None) -> datetime | None:
    if not value:
        return None
    found = find_timestamp(value.strip("*_` "))
    if found is None or not found[0].has_time:
        return None
    return _resolve(found[0], day, offset)


# ------------------------------------------------------------------ timeline


def _column(header: tuple[str, ...], names: tuple[str, ...]) -> int | None:
    for name in names:
        for idx, cell in enumerate(header):
            if cell == name or cell.startswith(name + " "):
                return idx
    return None


def _table_entries(
    table: Table, day: date | None, offset: timedelta | None
) -> list[tuple[Stamp | None, str, int, date | None]]:
    """(stamp, event text, 1-based line, row date) for the rows of a timeline table."""
    when = _column(table.header, _TIME_COLUMNS)
    if when is None:
        for idx in range(len(table.header)):
            hits = sum(
                1
                for _, cells in table.rows
                if idx < len(cells) and (f := find_timestamp(cells[idx])) and f[0].has_time
            )
            if table.rows and hits * 2 >= len(table.rows):
                when = idx
                break
    if when is None:
        return []
    date_col = _column(table.header, ("date", "day"))
    what = _column(table.header, _EVENT_COLUMNS)
    out: list[tuple[Stamp | None, str, int, date | None]] = []
    for i, cells in table.rows:
        cell_time = cells[when] if when < len(cells) else ""
        row_day = day
        if date_col is not None and date_col != when and date_col < len(cells):
            dt = parse_timestamp(cells[date_col].strip("*_` "), None)
            row_day = dt.date() if dt else day
        found = find_timestamp(cell_time)
        stamp = found[0] if found and found[0].has_time else None
        if what is not None and what < len(cells):
            text = cells[what]
        else:
            text = " | ".join(
                c for idx, c in enumerate(cells) if idx not in (when, date_col) and c.strip()
            )
        if stamp is None and not text.strip():
            continue
        out.append((stamp, text.strip(), i + 1, row_day))
    return out


def _timeline(
    doc: Document, parts: _Parts, day: date | None, offset: timedelta | None
) -> list[_Entry]:
    """Timeline entries from tables, timestamped lines and timestamped fence lines, in order."""
    raw: list[tuple[Stamp, str, int, date | None]] = []
    table_lines: set[int] = set()
    for table in tables(doc, doc.body_start, len(doc.lines)):
        if len(table.header) == 2 and table.header[0] in _HEADER_KEYS:
            continue  # a key/value header table ("| Date | 2025-03-14 |")
        if table.rows and parts.role_at(table.rows[0][0]) in ("actions", "lessons"):
            continue
        rows = _table_entries(table, day, offset)
        if rows:
            table_lines.update(i for i, _ in table.rows)
        raw.extend((s, t, ln, d) for s, t, ln, d in rows if s is not None)
    current = day
    in_fence = bytearray(len(doc.lines))
    for fence in doc.fences:
        lo, hi = max(fence.line - 1, 0), min(fence.end, len(doc.lines))
        in_fence[lo:hi] = b"\x01" * max(hi - lo, 0)
    for i in range(doc.body_start, len(doc.lines)):
        if i in table_lines:
            continue
        line = _HEADING_MARK.sub("", doc.lines[i])  # "### 14:02 - alert fired" headings
        role = parts.role_at(i)
        if role in ("actions", "lessons"):
            continue
        if in_fence[i] and role != "timeline" and not _timeline_fence_line(doc, i):
            continue
        found = find_timestamp(line)
        if found is None:
            continue
        stamp, rest = found
        if not stamp.has_time:
            # "2025-03-15 (all times UTC)" or "### 2025-03-15": later bare times are that day
            if stamp.day is not None and len(rest) < 60:
                current = stamp.day
            continue
        if not rest:
            continue
        raw.append((stamp, rest, i + 1, current))
    raw.sort(key=lambda r: r[2])
    stamps = [_resolve(s, d, offset) for s, _, _, d in raw]
    # bare clock times past midnight belong to the next day; dated ones are already right
    bare = [s if r[0].day is None else None for s, r in zip(stamps, raw, strict=True)]
    rolled = roll_days(bare)
    out: list[_Entry] = []
    for s, b, row in zip(stamps, rolled, raw, strict=True):
        out.append(_Entry(b if b is not None else s, row[1].strip(" |")[:1000], row[2]))
    return out


def _timeline_fence_line(doc: Document, index: int) -> bool:
    """True inside a plain fence most of whose lines start with a time (a pasted log)."""
    for fence in doc.fences_in(max(0, index - 2000), index + 1):
        if fence.line - 1 < index < fence.end and fence.info in ("", "text", "txt", "log", "plain"):
            lines = [ln for ln in fence.body.split("\n") if ln.strip()]
            hits = sum(1 for ln in lines if (f := find_timestamp(ln)) and f[0].has_time)
            return bool(lines) and hits * 2 >= len(lines)
    return False


# ------------------------------------------------------------------ commands & errors


def _spans(text: str) -> list[str]:
    return [s.strip() for s in _BACKTICKED.findall(text) if s.strip()]


def _commands(
    doc: Document,
    rel: str,
    parts: _Parts,
    entries: list[_Entry],
    started: datetime | None,
    limit: int,
) -> tuple[list[Command], list[Command], list[Command]]:
    """(response commands in order, commands run before detection, the resolution's commands)."""
    timeline_cmds: list[Command] = []
    timed = [e for e in entries if e.at is not None]
    for entry in entries:
        nxt = next((e.at for e in timed if e.line > entry.line and e.at), None)
        for span in _spans(entry.text):
            if not looks_like_command(span) or is_error_line(span):
                continue
            duration = None
            if entry.at is not None and nxt is not None:
                gap = (nxt - entry.at).total_seconds()
                duration = gap if 0 <= gap <= 6 * 3600 else None
            timeline_cmds.append(
                Command(
                    text=span,
                    source=SourceRef(rel, entry.line),
                    started_at=entry.at,
                    duration_s=duration,
                    outcome_note=re.sub(r"`[^`]*`", "", entry.text).strip(" :-—–;,.")[:80],
                    origin="timeline",
                )
            )
    section_cmds: list[Command] = []
    fix_keys: set[str] = set()
    for fence in doc.fences:
        role = parts.role_at(fence.line - 1)
        if role in _NOT_RUN_ROLES:
            continue
        at = _last_time_before(entries, fence.line)
        if role in _RUN_ROLES and fence.info in LOOSE_INFOS and _script_like(fence.body):
            fence = replace(fence, info="bash")  # an unlabeled fence under "Fix:" is the script
        # outside a known part only a shell fence (or a transcript) holds commands
        for cmd in fence_commands(fence, rel, "fence", limit, shell_only=role is None):
            section_cmds.append(replace(cmd, started_at=None if role != "timeline" else at))
            if role == "resolution":
                fix_keys.add(command_key(cmd.text))
    entry_lines = {e.line for e in entries}
    for i, line in doc.prose(doc.body_start, len(doc.lines)):
        if i + 1 in entry_lines or parts.role_at(i) not in (
            "resolution",
            "investigation",
            "detection",
        ):
            continue
        for span in _spans(line):
            if looks_like_command(span) and not is_error_line(span):
                section_cmds.append(Command(span, SourceRef(rel, i + 1), origin="inline"))
                if parts.role_at(i) == "resolution":
                    fix_keys.add(command_key(span))
    section_cmds.sort(key=lambda c: c.source.line)
    commands = merge_commands(timeline_cmds, section_cmds) if timeline_cmds else section_cmds
    before = [
        c
        for c in commands
        if c.started_at is not None and started is not None and c.started_at < started
    ]
    # timed commands in time order; the untimed ones (a fix script, a check) after them
    kept = [c for c in commands if c not in before]
    kept = [c for c in kept if c.started_at is not None] + [c for c in kept if c.started_at is None]
    kept = kept[:MAX_COMMANDS]
    fixes = [c for c in kept if command_key(c.text) in fix_keys]
    return kept, before, fixes


def _script_like(body: str) -> bool:
    lines = [
        ln.strip() for ln in body.split("\n") if ln.strip() and not ln.lstrip().startswith("#")
    ]
    return bool(lines) and all(looks_like_command(ln.rstrip("\\ ")) for ln in lines[:3])


def _last_time_before(entries: list[_Entry], line: int) -> datetime | None:
    times = [e.at for e in entries if e.line < line and e.at is not None]
    return times[-1] if times else None


def _errors(doc: Document, rel: str, parts: _Parts, entries: list[_Entry]) -> list[ErrorEvent]:
    """Quoted error lines: in timeline entries, fences, blockquotes and ``Error:`` lines."""
    found: list[ErrorEvent] = []
    for entry in entries:
        mentions = bool(_ERROR_MENTION.search(re.sub(r"`[^`]*`", "", entry.text)))
        for span in _spans(entry.text):
            if len(span.split()) < 2:
                continue  # an alert or metric name ("OrdersApiErrorRate"), not a message
            if is_error_line(span) or (mentions and not looks_like_command(span)):
                found.append(ErrorEvent(span[:1000], SourceRef(rel, entry.line), at=entry.at))
    for fence in doc.fences:
        if parts.role_at(fence.line - 1) in ("actions", "lessons"):
            continue
        for k, line in enumerate(fence.body.split("\n")):
            if line.strip() and is_error_line(line) and not looks_like_command(line.strip()):
                found.append(ErrorEvent(line.strip()[:1000], SourceRef(rel, fence.body_line + k)))
    for i, line in doc.prose(doc.body_start, len(doc.lines)):
        if parts.role_at(i) in ("actions", "lessons"):
            continue
        if _ERROR_PROSE.match(line) or (line.lstrip().startswith(">") and is_error_line(line)):
            message = re.sub(r"[*_]{2}", "", line.strip().lstrip(">-*+ ")).strip()
            if message:
                found.append(ErrorEvent(message[:1000], SourceRef(rel, i + 1)))
    seen: set[str] = set()
    out: list[ErrorEvent] = []
    # a pasted log can hold thousands of error lines; the first ones name the failure
    for err in sorted(found, key=lambda e: e.source.line)[: MAX_ERRORS * 10]:
        key = " ".join(err.message.lower().split())
        if key in seen or any(key in s or s in key for s in seen):
            continue
        seen.add(key)
        out.append(err)
    return out[:MAX_ERRORS]


# ------------------------------------------------------------------ journal


def _items(text: str) -> list[str]:
    """List items (checkboxes dropped) of a part, or its sentences when it has no list."""
    items = []
    for line in text.split("\n"):
        m = re.match(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$", line)
        if m and m.group(1).strip():
            items.append(m.group(1).strip())
    return items


def _action_items(doc: Document, parts: _Parts) -> list[str]:
    out: list[str] = []
    for a, b, role in parts.ranges:
        if role != "actions":
            continue
        for table in tables(doc, a, b):
            col = _column(table.header, _ACTION_COLUMNS)
            col = 0 if col is None else col
            for _, cells in table.rows:
                if col < len(cells) and cells[col].strip():
                    out.append(cells[col].strip())
        out.extend(_items(_prose(doc, a, b)))
    if not out:
        text = parts.joined("actions")
        out = [t for t in text.split("\n") if t.strip() and not t.lstrip().startswith("|")]
    return list(unique(o[:300] for o in out))[:30]


def _journal(
    ex: Execution,
    parts: _Parts,
    doc: Document,
    day: date | None,
    commands: list[Command],
    errors: list[ErrorEvent],
    resolved_text: str,
) -> Journal:
    """The post-mortem as an error journal; ``commands`` are the fix (else every response command)."""
    symptoms: list[str] = []
    for role in ("detection", "impact"):
        text = parts.joined(role)
        symptoms.extend(_items(text) or ([" ".join(text.split())[:500]] if text else []))
    symptoms.extend(e.message for e in errors)
    actions = _action_items(doc, parts)
    return Journal(
        id=ex.id,
        source=ex.source,
        category="error",
        title=ex.title,
        date=day or (ex.started_at.date() if ex.started_at else None),
        resolved=ex.resolved,
        severity=ex.severity,
        environment=ex.environment,
        tags=ex.tags,
        symptoms=unique(s[:500] for s in symptoms)[:20],
        error_messages=unique(e.message for e in errors),
        investigation=parts.joined("investigation") or parts.joined("detection"),
        root_cause=parts.joined("root_cause"),
        solution=parts.joined("resolution"),
        solution_commands=tuple(commands),
        verification=re.sub(r"[*_]{2}", "", resolved_text)[:2000],
        prevention="\n".join(f"- {a}" for a in actions)[:4000],
        notes=unique(
            f"Lessons learned: {' '.join(t.split())[:300]}" for t in parts.text.get("lessons", [])
        ),
    )


# ------------------------------------------------------------------ small helpers


def _severity_in(text: str) -> str | None:
    m = _SEVERITY.search(text)
    if m is None:
        return None
    return f"sev{m.group(1)}" if m.group(1) else (m.group(2) or "").lower()


def _severity_name(text: str | None) -> str | None:
    """``SEV-2`` / ``Sev 2`` / ``2`` → ``sev2``; ``P1`` → ``p1``; other words lowercased."""
    if not text:
        return None
    low = text.strip().lower()
    if re.fullmatch(r"[0-5]", low):
        return f"sev{low}"
    m = _SEVERITY.search(text)
    if m:
        return _severity_in(text)
    return low.split()[0][:20] if low.split() else None


def _first_name(text: str) -> str | None:
    words = re.split(r"[\s,;(]+", text.strip("@*_` "))
    return words[0].lstrip("@")[:80] if words and words[0] else None


def _first_paragraph(doc: Document) -> str:
    lines: list[str] = []
    for _, line in doc.prose(doc.body_start, min(len(doc.lines), doc.body_start + 80)):
        s = line.strip()
        if not s or s.startswith(("#", "|", "=", "---")) or label(s) is not None:
            if lines:
                break
            continue
        lines.append(s)
    return " ".join(lines)


__all__ = ["parse"]

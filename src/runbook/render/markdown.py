"""Render a `Runbook` as markdown, section for section the original `/runbook` template.

The body ends with a generator marker so a later run can tell whether a person edited the file:

    <!-- runbook-miner: generated; content-sha256=3f2a... -->

The hash covers every byte above the marker line.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runbook.model import Duration, Runbook, SourceEntry, SourceRef, Step
from runbook.runbook_parse import PLACEHOLDER

if TYPE_CHECKING:
    import jinja2

MARKER_PREFIX = "<!-- runbook-miner: generated; content-sha256="
_MARKER = re.compile(
    r"^<!-- runbook-miner: generated; content-sha256=([0-9a-f]{64}) -->\n?\Z", re.M
)

MAX_EVIDENCE_SHOWN = 5
MAX_STEPS_FLAT = 10
# Troubleshooting shows the most frequent issues in full; rarer ones as one line each, so the
# runbook stays readable (the original's "overly detailed runbook" anti-pattern).
MAX_ISSUES_DETAILED = 8


def format_seconds(seconds: float) -> str:
    """Human duration: ``45 s``, ``6.5 min``, ``2.1 h``."""
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{_trim(seconds / 60)} min"
    return f"{_trim(seconds / 3600)} h"


def _trim(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def format_duration(duration: Duration | None, *, unit: str = "runs") -> str:
    """``~45 s (median of 11 runs; p90 70 s)``, or a plain statement that no timing exists."""
    if duration is None or duration.median_seconds is None:
        return "unknown (no timing recorded in evidence)"
    if duration.runs == 1 and unit.endswith("runs"):
        unit = unit[:-1]
    median = format_seconds(duration.median_seconds)
    approx = "" if median.startswith("<") else "~"
    text = f"{approx}{median} (median of {duration.runs} {unit}"
    if duration.p90_seconds is not None and duration.runs > 1:
        text += f"; p90 {format_seconds(duration.p90_seconds)}"
    return text + ")"


def header_duration(duration: Duration) -> str:
    """The header's Estimated Duration, in minutes as in the original template."""
    if duration.median_seconds is None:
        return "unknown (no timing recorded in evidence)"
    runs = "run" if duration.runs == 1 else "runs"
    text = f"~{_trim(duration.median_seconds / 60)} minutes (median of {duration.runs} {runs}"
    if duration.p90_seconds is not None and duration.runs > 1:
        text += f"; p90 {_trim(duration.p90_seconds / 60)} minutes"
    return text + ")"


def cell(text: object) -> str:
    """A markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or "—"


def fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside ``text``."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def code(text: str) -> str:
    """Inline code span that survives backticks inside ``text``."""
    one_line = " ".join(text.split())
    runs = [len(m) for m in re.findall(r"`+", one_line)]
    ticks = "`" * (max(runs, default=0) + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{ticks}{pad}{one_line}{pad}{ticks}"


def one_line(text: object) -> str:
    """Collapse whitespace (headings and list items must stay on one line)."""
    return " ".join(str(text).split())


# The original's checks each say why they exist; ours are named by kind (assemble._check_title).
_CHECK_PURPOSES = (
    ("Service health", "Verify the service is responding"),
    ("Smoke tests", "Verify critical functionality works"),
    ("Recent logs", "Ensure no errors in recent invocations"),
    ("Resource reached", "Confirm the change finished applying"),
    ("Rollout status", "Confirm the rollout finished"),
    ("Metric:", "Verify the metric is back in its normal range"),
    ("Database state", "Confirm the database is in the expected state"),
    ("Tests", "Verify the test suite passes"),
)


def check_purpose(title: str) -> str:
    """Why a verification check exists, from its kind (marked derived in the output)."""
    for prefix, purpose in _CHECK_PURPOSES:
        if title.startswith(prefix):
            return purpose
    return "Confirm the result of the operation"


def placeholders(commands: Sequence[str]) -> list[str]:
    """The ``{name}`` placeholders used in ``commands``, sorted."""
    return sorted({m for c in commands for m in PLACEHOLDER.findall(c)})


def block(text: str) -> str:
    """Text after a ``**Label**:``: inline when one line, else its own paragraph (lists survive)."""
    text = text.strip("\n")
    if "\n" not in text and not text.lstrip().startswith(("- ", "* ", "1. ")):
        return text
    return "\n\n" + text


def runme(name: str) -> str:
    """Runme-compatible fence attributes: ``{"name":"step-3-deploy","interactive":"false"}``."""
    return json.dumps({"name": name, "interactive": "false"}, separators=(",", ":"))


def refs(evidence: Sequence[SourceRef], limit: int = MAX_EVIDENCE_SHOWN) -> str:
    """Evidence as `path:line` list, bounded: ``a:3, b:9 and 4 more``."""
    if not evidence:
        return "none recorded"
    shown = ", ".join(f"`{r}`" for r in evidence[:limit])
    extra = len(evidence) - limit
    return f"{shown} and {extra} more" if extra > 0 else shown


def root_link_for(links_from: str) -> str:
    """The way back to the root from an output directory given relative to the root.

    Computed on names only (never against the current directory), so output does not depend
    on where the command ran; an output directory outside the root needs ``root_link`` instead.
    """
    parts = [p for p in posixpath.normpath(links_from or ".").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or links_from.startswith("/"):
        return "."  # unknown way back: links stay root-relative rather than guessed
    return "/".join([".."] * len(parts)) or "."


def _link(path: str, root_link: str) -> str:
    target = posixpath.normpath(posixpath.join(root_link, path))
    return target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _phases(steps: Sequence[Step]) -> list[tuple[str, list[Step]]]:
    groups: list[tuple[str, list[Step]]] = []
    for step in steps:
        phase = step.phase or "Procedure"
        if groups and groups[-1][0] == phase:
            groups[-1][1].append(step)
        else:
            groups.append((phase, [step]))
    return groups


def _environment() -> jinja2.Environment:
    # imported here: `summary_line` needs format_seconds on a cached run, Jinja2 only renders
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("runbook", "render/templates"),
        autoescape=False,  # markdown, not HTML; content is escaped per context by filters
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cell=cell,
        fence=fence,
        code=code,
        runme=runme,
        refs=refs,
        duration=format_duration,
        seconds=format_seconds,
        shq=shlex.quote,
        block=block,
        one=one_line,
        check_purpose=check_purpose,
        placeholders=placeholders,
    )
    return env


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    """The shared Jinja2 environment (templates are package data)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def tidy(text: str) -> str:
    """Collapse runs of blank lines and trailing spaces outside code fences (template slack)."""
    out: list[str] = []
    fence_open: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence_open is None:
            match = re.match(r"^(`{3,}|~{3,})", stripped)
            if match:
                fence_open = match.group(1)
            line = line.rstrip()
            if not line and out and not out[-1]:
                continue
        elif stripped.startswith(fence_open) and stripped.strip("`~") == "":
            fence_open = None
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def render_markdown(
    runbook: Runbook, *, links_from: str = "runbooks", root_link: str | None = None
) -> str:
    """The runbook as markdown; links are relative to the output directory: ``links_from``
    (root-relative), or ``root_link`` (the root as seen from the output directory) when given."""
    back = root_link if root_link is not None else root_link_for(links_from)
    sources: dict[str, SourceEntry] = {s.path: s for s in runbook.sources}
    related_groups: list[tuple[str, list[tuple[str, str, str]]]] = []
    titles = {
        "guide": "Documentation",
        "notes": "Operations Notes",
        "observation": "Observations",
        "journal": "Journals",
        "migration-file": "Migration Files",
        "alarm": "Alarm Definitions",
    }
    for related in runbook.related:
        group = titles.get(related.kind, "Other Evidence")
        entry = sources.get(related.path)
        detail = ""
        if entry is not None:
            bits = [b for b in (entry.date, entry.outcome if entry.outcome != "n/a" else "") if b]
            detail = ", ".join(bits)
        row = (related.path, _link(related.path, back), detail)
        for name, rows in related_groups:
            if name == group:
                rows.append(row)
                break
        else:
            related_groups.append((group, [row]))
    order = [
        "Documentation",
        "Operations Notes",
        "Observations",
        "Journals",
        "Migration Files",
        "Alarm Definitions",
        "Other Evidence",
    ]
    related_groups.sort(key=lambda g: order.index(g[0]))
    body = (
        environment()
        .get_template("runbook.md.j2")
        .render(
            rb=runbook,
            header_duration=header_duration(runbook.estimated_duration),
            grouped=len(runbook.steps) > MAX_STEPS_FLAT,
            known_params={p.name: p.examples for st in runbook.steps for p in st.parameters},
            issues=runbook.troubleshooting[:MAX_ISSUES_DETAILED],
            more_issues=list(
                enumerate(
                    runbook.troubleshooting[MAX_ISSUES_DETAILED:], start=MAX_ISSUES_DETAILED + 1
                )
            ),
            phases=_phases(runbook.steps),
            related_groups=related_groups,
            type_value=runbook.operation_type.value,
        )
    )
    return add_marker(tidy(body))


def add_marker(body: str) -> str:
    """Append the generator marker carrying the sha256 of ``body``."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{body}\n{MARKER_PREFIX}{digest} -->\n"


def marker_state(text: str) -> str:
    """``"unedited"`` when the marker matches the body, ``"edited"`` when not, ``"none"`` without one."""
    index = text.rfind(MARKER_PREFIX)
    if index < 0:
        return "none"
    match = _MARKER.match(text[index:])
    if match is None:
        return "edited"
    body = text[:index]
    # add_marker puts one blank line between body and marker.
    body = body[:-1] if body.endswith("\n\n") else body
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return "unedited" if digest == match.group(1) else "edited"

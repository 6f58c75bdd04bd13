"""Journals: ``.claude/journals/{error,process,architecture,pattern,meta}/YYYY-MM-DD-slug.md``.

Sample line: ``**Verification**: `terraform plan` exits 0 and prints `Plan: 0 to add` ``.
Error journals carry Symptoms, Investigation, Root Cause, Solution (with its commands and a
``**Verification**`` label) and Prevention; headings vary (``Fix``, ``Resolution``, ``What fixed
it``, ``Root cause analysis``, ``Lessons learned``) and are matched by their leading words.
Process journals that record a dated run also yield an Execution (read as operations notes).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from runbook.config import Config
from runbook.model import Command, EvidenceKind, Journal, ParsedFile, SourceRef
from runbook.sources.common import (
    BACKTICKED,
    LOOSE_INFOS,
    environment_name,
    expectation,
    fence_commands,
    front_matter_diagnostics,
    inline_commands,
    is_error_line,
    looks_like_command,
    meta_datetime,
    unique,
    ymd_date,
)
from runbook.sources.markdown import (
    Document,
    Section,
    boolean,
    heading_matches,
    label,
    norm_heading,
    scalar,
    words_list,
)
from runbook.sources.notes import executions_from
from runbook.sources.shell import split_script

_CATEGORIES = {
    "error": "error",
    "errors": "error",
    "bug": "error",
    "bugs": "error",
    "incident": "error",
    "incidents": "error",
    "process": "process",
    "processes": "process",
    "architecture": "architecture",
    "decision": "architecture",
    "decisions": "architecture",
    "adr": "architecture",
    "pattern": "pattern",
    "patterns": "pattern",
    "meta": "meta",
}
_ROLES: dict[str, tuple[str, ...]] = {
    "root_cause": (
        "root cause",
        "cause",
        "root cause analysis",
        "why it happened",
        "why",
        "reason",
    ),
    "verification": (
        "verification",
        "verify",
        "verified",
        "validation",
        "how to verify",
        "how we verified",
        "confirmation",
        "confirmed",
        "testing",
        "check",
    ),
    "prevention": (
        "prevention",
        "lessons learned",
        "lesson",
        "follow up",
        "followup",
        "action item",
        "next step",
        "preventive measure",
        "takeaway",
        "to prevent",
        "preventing recurrence",
        "future",
    ),
    "solution": (
        "solution",
        "fix",
        "resolution",
        "solution applied",
        "what fixed it",
        "the fix",
        "workaround",
        "remediation",
        "mitigation",
        "how it was fixed",
        "how we fixed it",
        "how i fixed it",
        "fixed by",
        "fix applied",
        "resolved by",
        "what worked",
    ),
    "investigation": (
        "investigation",
        "debugging",
        "diagnosis",
        "analysis",
        "what i tried",
        "what we tried",
        "troubleshooting",
        "steps taken",
        "finding",
        "detail",
    ),
    "symptoms": (
        "symptom",
        "symptoms observed",
        "problem",
        "the problem",
        "issue",
        "what happened",
        "observed behavior",
        "observation",
        "error",
        "error message",
        "impact",
        "description",
        "summary",
    ),
}
_ROLE_KEYS = {role: tuple(norm_heading(v) for v in vs) for role, vs in _ROLES.items()}
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """One journal file → a Journal, plus an Execution when it records a dated run."""
    doc = Document(text)
    diags = front_matter_diagnostics(doc, rel, "category and date taken from the path")
    journal = _journal(doc, rel, config)
    executions = []
    # a process journal (deployment-*.md) may hold a run transcript; other categories describe
    if journal.category == "process" and journal.date is not None:
        executions = executions_from(
            doc, rel, config, EvidenceKind.JOURNAL, diags, require_run=True
        )
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.JOURNAL,
        executions=tuple(executions),
        journals=(journal,),
        diagnostics=tuple(diags),
    )


def _category(meta: dict[str, Any], rel: str) -> str:
    stated = (scalar(meta.get("category")) or scalar(meta.get("type")) or "").lower().strip()
    if stated in _CATEGORIES:
        return _CATEGORIES[stated]
    parts = PurePosixPath(rel).parts
    if "journals" in parts:
        idx = parts.index("journals")
        if idx + 2 < len(parts):
            folder = parts[idx + 1].lower()
            return _CATEGORIES.get(folder, "other")
    return "other"


def _role(sec: Section) -> str | None:
    for role, keys in _ROLE_KEYS.items():
        if any(heading_matches(sec.key, k) for k in keys):
            return role
    return None


def _prose_text(doc: Document, start: int, end: int, limit: int = 4000) -> str:
    lines = [ln.rstrip() for _, ln in doc.prose(start, end)]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text[:limit]


def _journal(doc: Document, rel: str, config: Config) -> Journal:
    meta = doc.meta
    limit = config.output_excerpt_chars
    stem = PurePosixPath(rel).stem
    slug = re.sub(r"^\d{4}-\d{2}-\d{2}[-_]?", "", stem)
    day, _ = meta_datetime(meta, _stem_date(rel))
    parts: dict[str, list[str]] = {role: [] for role in _ROLES}
    symptoms: list[str] = []
    errors: list[str] = []
    solution_cmds: list[Command] = []
    verification_cmds: list[Command] = []
    investigation_cmds: list[Command] = []
    verification: list[str] = []
    notes: list[str] = []
    handled: list[tuple[int, int]] = []
    # The document's title ("# Analysis failed during the canary") names the incident: it
    # is no section, even when its first word is a section word, if sections follow it.
    heads = doc.sections[1:]
    heading = heads[0] if len(heads) > 1 and heads[0].level == 1 else None
    for sec in heads:
        if any(a <= sec.line - 1 < b for a, b in handled):
            continue
        role = None if sec is heading else _role(sec)
        if role is None:
            if sec.level > 1:
                body = _prose_text(doc, sec.start, sec.body_end, 300).replace("\n", " ")
                if body:
                    notes.append(f"{sec.title}: {body}")
            continue
        handled.append((sec.start, sec.end))
        if role == "symptoms":
            symptoms.extend(_items(doc, sec.start, sec.end))
            errors.extend(_error_lines(doc, sec.start, sec.end))
            parts[role].append(_prose_text(doc, sec.start, sec.end))
        elif role == "solution":
            cut = _verification_label(doc, sec.start, sec.end)
            parts[role].append(_prose_text(doc, sec.start, cut))
            solution_cmds.extend(_commands(doc, rel, sec.start, cut, limit, inline=True))
            if cut < sec.end:
                text, cmds = _verification_part(doc, rel, cut, sec.end, limit)
                verification.append(text)
                verification_cmds.extend(cmds)
        elif role == "verification":
            verification.append(_prose_text(doc, sec.start, sec.end))
            verification_cmds.extend(_commands(doc, rel, sec.start, sec.end, limit, inline=False))
        else:
            parts[role].append(_prose_text(doc, sec.start, sec.end))
            if role == "investigation":
                investigation_cmds.extend(
                    _commands(doc, rel, sec.start, sec.end, limit, inline=True)
                )
    # labels instead of headings: "**Root Cause**: ..." / "**Fix**: ..."; a fence after a
    # label belongs to that label's part
    role_at: list[tuple[int, str]] = []
    for i, line in doc.prose(doc.body_start, len(doc.lines)):
        if any(a <= i < b for a, b in handled):
            continue
        lab = label(line)
        if lab is None:
            continue
        for role, keys in _ROLE_KEYS.items():
            if any(heading_matches(lab[0], k) for k in keys):
                role_at.append((i, role))
                if not lab[1]:
                    break
                if role == "verification":
                    verification.append(lab[1])
                elif role == "symptoms":
                    symptoms.append(lab[1])
                    errors.extend(_spans_errors(lab[1]))
                else:
                    parts[role].append(lab[1])
                    if role == "solution":  # "Fix: `kubectl rollout undo deployment/web`"
                        solution_cmds.extend(_backticked_commands(lab[1], rel, i))
                break
    # labels inside paragraphs: "… older than 30 days. **Root cause:** keys were written …"
    # or a paragraph led by a phrase: "What fixed it, in order: …"
    for i, role, text in _paragraph_labels(doc, handled, {i for i, _ in role_at}):
        role_at.append((i, role))
        if role == "verification":
            verification.append(text)
        elif role == "symptoms":
            symptoms.append(text)
            errors.extend(_spans_errors(text))
        else:
            parts[role].append(text)
        if role == "solution":
            solution_cmds.extend(_backticked_commands(text, rel, i))
    role_at.sort()
    if not symptoms and not handled and _category(meta, rel) == "error":
        # an error journal written as plain paragraphs opens with what happened
        first = _first_paragraph(doc, {i for i, _ in role_at})
        if first:
            symptoms.append(first)
    for fence in doc.fences:
        if any(a <= fence.line - 1 < b for a, b in handled):
            continue
        owner = [r for i, r in role_at if i < fence.line - 1]
        if owner and owner[-1] in ("solution", "verification"):
            cmds = fence_commands(fence, rel, "fence", limit)
            (solution_cmds if owner[-1] == "solution" else verification_cmds).extend(cmds)
    if not errors and _category(meta, rel) == "error":
        # an error quoted anywhere in the journal still names the failure
        errors.extend(_error_lines(doc, doc.body_start, len(doc.lines), fences=False))
    title = scalar(meta.get("title")) or doc.title or slug.replace("-", " ")
    env = scalar(meta.get("environment")) or scalar(meta.get("env"))
    return Journal(
        id=rel,
        source=SourceRef(rel, 1),
        category=_category(meta, rel),
        title=title[:200],
        date=day,
        resolved=boolean(meta.get("resolved")),
        severity=(scalar(meta.get("severity")) or "").lower() or None,
        environment=environment_name(env) if env else None,
        tags=words_list(meta.get("tags")),
        symptoms=unique(s[:500] for s in symptoms),
        error_messages=unique(e[:1000] for e in errors),
        investigation="\n\n".join(p for p in parts["investigation"] if p)[:4000],
        root_cause="\n\n".join(p for p in parts["root_cause"] if p)[:4000],
        solution="\n\n".join(p for p in parts["solution"] if p)[:4000],
        solution_commands=tuple(
            {c.text: c for c in reversed(solution_cmds)}[t] for t in _order(solution_cmds)
        ),
        verification="\n".join(v for v in verification if v)[:2000],
        verification_commands=tuple(verification_cmds),
        prevention="\n\n".join(p for p in parts["prevention"] if p)[:4000],
        notes=unique(notes),
        investigation_commands=tuple(
            {c.text: c for c in reversed(investigation_cmds)}[t] for t in _order(investigation_cmds)
        ),
    )


def _stem_date(rel: str) -> date | None:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", PurePosixPath(rel).name)
    return None if m is None else ymd_date(m)


_INLINE_LABEL = re.compile(
    r"(?:\*\*|__)(?P<name>[A-Za-z][^*_:\n]{1,40}?)\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)"
)
# "What fixed it, in order: …", "**Root cause** — …" (a bold name and a dash, no colon)
_LEAD_PHRASE = re.compile(
    r"^(?:(?P<name>[A-Z][\w ,'/-]{2,40}?)\s*:|(?:\*\*|__)(?P<bold>[A-Za-z][^*_\n]{1,40}?)"
    r"(?:\*\*|__)\s*(?:[:—–]|--?)\s*)\s+(?P<rest>\S.*)$"
)


def _order(cmds: list[Command]) -> list[str]:
    """Command texts in first-seen order, each once."""
    return list(dict.fromkeys(c.text for c in cmds))


def _backticked_commands(text: str, rel: str, index0: int) -> list[Command]:
    return [
        Command(span.strip(), SourceRef(rel, index0 + 1), origin="inline")
        for span in BACKTICKED.findall(text)
        if looks_like_command(span.strip())
    ]


def _role_of(name: str) -> str | None:
    key = norm_heading(name)
    for role, keys in _ROLE_KEYS.items():
        if any(heading_matches(key, k) for k in keys):
            return role
    return None


def _paragraphs(doc: Document) -> list[tuple[int, str]]:
    """(0-based first line, joined text) of each prose paragraph outside code blocks."""
    out: list[tuple[int, str]] = []
    start: int | None = None
    lines: list[str] = []
    last = -2
    for i, line in [*doc.prose(doc.body_start, len(doc.lines)), (len(doc.lines) + 1, "")]:
        if not line.strip() or i != last + 1 or line.lstrip().startswith("#"):
            if start is not None and lines:
                out.append((start, " ".join(lines)))
            start, lines = None, []
        if line.strip() and not line.lstrip().startswith("#"):
            if start is None:
                start = i
            lines.append(line.strip())
        last = i
    return out


def _paragraph_labels(
    doc: Document, handled: list[tuple[int, int]], labelled: set[int]
) -> list[tuple[int, str, str]]:
    """(line, role, text) for role labels inside paragraphs and role phrases leading one."""
    out: list[tuple[int, str, str]] = []
    for start, text in _paragraphs(doc):
        if any(a <= start < b for a, b in handled) or start in labelled:
            continue
        lead = _LEAD_PHRASE.match(text)
        name = lead and (lead.group("name") or lead.group("bold"))
        if lead and name and not _INLINE_LABEL.match(text) and (role := _role_of(name)):
            out.append((start, role, lead.group("rest")[:4000]))
            continue
        marks = [
            (m, role)
            for m in _INLINE_LABEL.finditer(text)
            if m.start() > 0 and (role := _role_of(m.group("name")))
        ]
        for k, (m, role) in enumerate(marks):
            stop = marks[k + 1][0].start() if k + 1 < len(marks) else len(text)
            body = text[m.end() : stop].strip()
            if body:
                out.append((start, role, body[:4000]))
    return out


def _first_paragraph(doc: Document, skip: set[int]) -> str:
    for start, text in _paragraphs(doc):
        if start not in skip and label(doc.lines[start]) is None:
            return _INLINE_LABEL.split(text, maxsplit=1)[0].strip()[:500]
    return ""


def _items(doc: Document, start: int, end: int) -> list[str]:
    """Bullet items (with wrapped continuation lines) and paragraph lines, in order."""
    items: list[str] = []
    current: list[str] | None = None
    for _, line in doc.prose(start, end):
        m = _BULLET.match(line)
        if m:
            if current:
                items.append(" ".join(current))
            current = [m.group(1).strip()]
        elif current is not None and line.strip() and line[:1] in (" ", "\t"):
            current.append(line.strip())
        else:
            if current:
                items.append(" ".join(current))
            current = None
            if line.strip() and not line.lstrip().startswith("#"):
                items.append(line.strip())
    if current:
        items.append(" ".join(current))
    return [i for i in items if i]


def _spans_errors(text: str) -> list[str]:
    # a bare level word ("`[ERROR]` lines") names a log level, not an error
    return [
        s.strip()
        for s in BACKTICKED.findall(text)
        if (is_error_line(s) and not re.fullmatch(r"\W*[A-Za-z]+\W*", s.strip()))
        or re.fullmatch(r"[A-Z]\w*(?:Error|Exception|Fault)", s.strip())
    ]


def _error_lines(doc: Document, start: int, end: int, *, fences: bool = True) -> list[str]:
    """Exact error lines quoted in a range: in fences, backticked spans, ``Error:`` lines."""
    out: list[str] = []
    for _, line in doc.prose(start, end):
        out.extend(_spans_errors(line))
        stripped = line.strip().lstrip("-*+> ").strip()
        if re.match(r"^(?:Error|ERROR|Fatal|FATAL)\b\s*:", stripped) and "`" not in stripped:
            out.append(stripped)
    if fences:
        for fence in doc.fences_in(start, end):
            if fence.info not in LOOSE_INFOS and fence.info not in (
                "console",
                "json",
                "python",
                "pytb",
            ):
                continue
            lines = [ln.strip() for ln in fence.body.split("\n") if ln.strip()]
            if fence.info == "console" or any(ln.startswith("$ ") for ln in lines):
                lines = [ln for ln in lines if not ln.startswith("$ ")]
            hits = [ln for ln in lines if is_error_line(ln)]
            out.extend(hits[:5] if hits else lines[:1])
    return out


def _verification_label(doc: Document, start: int, end: int) -> int:
    """0-based line of a ``**Verification**:`` label inside a section, else ``end``."""
    for i, line in doc.prose(start, end):
        lab = label(line)
        if lab is not None and any(heading_matches(lab[0], k) for k in _ROLE_KEYS["verification"]):
            return i
    return end


def _verification_part(
    doc: Document, rel: str, start: int, end: int, limit: int
) -> tuple[str, list[Command]]:
    """The label's text (inline value and the paragraph after it) and the fences that follow."""
    lab = label(doc.lines[start])
    text = [lab[1]] if lab and lab[1] else []
    stop = end
    for i, line in doc.prose(start + 1, end):
        nxt = label(line)
        if nxt is not None and nxt[0] not in ("expected", "expected output", "expected result"):
            stop = i
            break
    for i, line in doc.prose(start + 1, stop):
        if not line.strip():
            if text and i > start + 1:
                break
            continue
        text.append(line.strip())
    expected = [e for _, ln in doc.prose(start, stop) if (e := expectation(ln))]
    body = " ".join(text)
    if expected and not any(e in body for e in expected):
        body += " Expected: " + "; ".join(expected)
    return body, _commands(doc, rel, start, stop, limit, inline=False)


def _commands(
    doc: Document, rel: str, start: int, end: int, limit: int, *, inline: bool
) -> list[Command]:
    """Shell fences, ``$ `` prompt lines and (for solutions) backticked commands in list steps."""
    out: list[Command] = []
    for fence in doc.fences_in(start, end):
        out.extend(fence_commands(fence, rel, "fence", limit))
    block: list[tuple[int, str]] = []
    for i, line in [*doc.prose(start, end), (end, "")]:
        stripped = line.strip()
        if stripped.startswith("$ "):
            block.append((i, stripped))
            continue
        for j, prompt in block:
            for sl in split_script(prompt, transcript=True):
                out.append(Command(sl.command, SourceRef(rel, j + 1), origin="prompt"))
        block.clear()
    if inline:
        out.extend(inline_commands(doc, rel, start, end))
    out.sort(key=lambda c: c.source.line)
    return out

"""Regenerate a runbook without clobbering people: a section-level 3-way merge, --check, --diff.

When the tool writes a runbook it keeps a copy of exactly what it wrote (the *base*) in
``.runbook/generated/<path relative to the root>``. When a person later edits the runbook
(*ours*) and new evidence produces a new generation (*theirs*), each section is merged on its
own, as git merges files::

    ## Troubleshooting      base == ours, theirs changed   -> the new text (evidence moved on)
    ### Step 3: Build        ours changed, theirs == base   -> the person's text
    ### Step 5: Deploy       both changed, differently      -> conflict: new version written beside

Sections are cut at headings of level 1-3 outside code fences (so a ``# comment`` in a fence
never starts one). When both sides changed a section, its lines are merged as diff3 does: a
person's note under a step survives a new "Seen in 14/14 runs" line, because the two changes
touch different lines; changes to the same lines are a conflict, and the new version is written
beside the file instead. (Every regeneration rewrites the header's Generated date, so without
this a person's Owner edit would conflict every time.)
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MergeResult",
    "atomic_write",
    "base_path",
    "find_existing",
    "fsync_dir",
    "merge",
    "read_base",
    "same_content",
    "sections",
    "split_marker",
    "store_base",
    "sync_generated",
    "unified_diff",
]

BASE_DIR = (".runbook", "generated")
_MARKER = re.compile(r"\n?<!-- runbook-miner: generated; content-sha256=[0-9a-f]{64} -->\n?\Z")
_GENERATED = re.compile(r"^\*\*Generated\*\*:.*$", re.M)
_GENERATED_JSON = re.compile(r'^\s*"generated": "[^"\n]*"', re.M)
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}-")


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged markdown and what happened to each section (titles as written)."""

    text: str
    conflicts: tuple[str, ...] = ()  # changed by the person and by the evidence, differently
    kept: tuple[str, ...] = ()  # the person's edits kept
    updated: tuple[str, ...] = ()  # taken from the new generation


def split_marker(text: str) -> tuple[str, str]:
    """(body, marker line) of a generated runbook; the marker is "" when absent."""
    m = _MARKER.search(text)
    if m is None:
        return text, ""
    body = text[: m.start()]
    return (body[:-1] if body.endswith("\n\n") else body), m.group(0).strip("\n")


def sections(body: str) -> list[tuple[str, str, str]]:
    """(key, title, text) chunks cut at level 1-3 headings outside fences; keys are unique."""
    from runbook.runbook_parse import heading_lines

    lines = body.split("\n")
    chunks: list[tuple[str, list[str]]] = [("", [])]
    starts = {line: (level, title) for line, level, title in heading_lines(body, 3)}
    titled = False
    for n, line in enumerate(lines):
        h = starts.get(n)
        # The title (the first heading, an H1) stays with the header block under it.
        if h is not None and (titled or h[0] > 1):
            chunks.append((h[1], []))
        titled = titled or h is not None
        chunks[-1][1].append(line)
    out: list[tuple[str, str, str]] = []
    seen: dict[str, int] = {}
    for title, lines in chunks:
        key = " ".join(title.lower().split())
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        out.append((key, title or "(header)", "\n".join(lines)))
    return out


def merge(base: str, ours: str, theirs: str) -> MergeResult:
    """Three-way merge of runbook markdown, section by section (lines when both changed one)."""
    # An editor that saved CRLF changed no content.
    base, ours, theirs = (t.replace("\r\n", "\n") for t in (base, ours, theirs))
    theirs_marker = split_marker(theirs)[1]
    # Sections compare without their trailing blank lines, so moving the last section up
    # (or an editor's extra blank line) is not a content change.
    bs, os_, ts = (_chunks(split_marker(x)[0]) for x in (base, ours, theirs))
    b, o, t = dict(bs), dict(os_), dict(ts)
    titles = {k: title for k, title, _x in (*sections(base), *sections(ours), *sections(theirs))}
    # Keep the person's order unless the evidence itself reordered the sections.
    if [k for k, _x in ts] == [k for k, _x in bs]:
        order = _order([k for k, _x in os_], [k for k, _x in ts])
    else:
        order = _order([k for k, _x in ts], [k for k, _x in os_])
    chunks: list[str] = []
    conflicts: list[str] = []
    kept: list[str] = []
    updated: list[str] = []
    for key in order:
        bx, ox, tx = b.get(key), o.get(key), t.get(key)
        title = titles.get(key, key) or "(header)"
        if ox == tx:
            chosen = ox
        elif ox == bx:
            chosen = tx
            updated.append(title)
        elif tx == bx:
            chosen = ox
            kept.append(title)
        elif bx is not None and ox is not None and tx is not None:
            lines = _merge_lines(bx.split("\n"), ox.split("\n"), tx.split("\n"))
            if lines is None:
                conflicts.append(title)
                chosen = ox
            else:
                chosen = "\n".join(lines)
                kept.append(title)
        else:
            conflicts.append(title)
            chosen = ox
        if chosen is not None:
            chunks.append(chosen)
    body = _join(chunks)
    if not conflicts and body == _join(x for _k, x in ts):
        return MergeResult(theirs, updated=tuple(updated))
    # The marker keeps the hash of what the tool generated, so the file still reads as edited.
    text = f"{body}\n{theirs_marker}\n" if theirs_marker else body
    return MergeResult(text, tuple(conflicts), tuple(kept), tuple(updated))


def _chunks(body: str) -> list[tuple[str, str]]:
    return [(k, x.strip("\n")) for k, _t, x in sections(body)]


def _join(chunks: Iterable[str]) -> str:
    return "\n\n".join(c for c in chunks if c) + "\n"


def _order(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """``first``'s section order, with sections only ``second`` has placed after the section
    that precedes them there."""
    out = list(first)
    known = set(out)
    for i, key in enumerate(second):
        if key in known:
            continue
        prev = next((second[j] for j in range(i - 1, -1, -1) if second[j] in out), None)
        out.insert(out.index(prev) + 1 if prev is not None else 0, key)
        known.add(key)
    return out


def _changes(base: list[str], other: list[str]) -> list[tuple[int, int, list[str]]]:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [(i1, i2, other[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]


def _merge_lines(base: list[str], ours: list[str], theirs: list[str]) -> list[str] | None:
    """diff3 on lines: both sides' changes applied when they touch different lines, else None."""
    mine, new = _changes(base, ours), _changes(base, theirs)
    for s1, e1, r1 in mine:
        for s2, e2, r2 in new:
            if (s1, e1, r1) == (s2, e2, r2):
                continue  # the same change on both sides
            overlap = s1 < e2 and s2 < e1
            # Two insertions at one place (or one at the start of the other's range) have no
            # order both sides agree on. Merely adjacent lines merge: the header's Owner line
            # sits right under the Estimated Duration every regeneration rewrites.
            same_spot = s1 == s2 and (s1 == e1 or s2 == e2)
            if overlap or same_spot:
                return None
    merged = {(s, e): r for s, e, r in (*mine, *new)}
    out = list(base)
    for (s, e), r in sorted(merged.items(), reverse=True):
        out[s:e] = r
    return out


# ------------------------------------------------------------------ base store


def base_path(root: Path | None, target: Path) -> Path:
    """Where the last generated text of ``target`` is kept: ``<root>/.runbook/generated/<rel>``."""
    if root is not None:
        try:
            rel = target.resolve().relative_to(root.resolve())
            return root.joinpath(*BASE_DIR, *rel.parts)
        except ValueError:
            pass
    return target.parent.joinpath(*BASE_DIR, target.name)


def read_base(root: Path | None, target: Path) -> str | None:
    """The stored base of ``target``, or None when there is none (or it is unreadable)."""
    path = base_path(root, target)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def store_base(root: Path | None, target: Path, text: str) -> None:
    """Keep ``text`` as what the tool wrote to ``target`` (atomically)."""
    path = base_path(root, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)


def atomic_write(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half of it.

    ``durable`` also fsyncs the file and its directory before returning, for evidence that
    must survive a crash right after the write (``observe``'s finished observations).
    """
    # The pid keeps two processes writing the same file from sharing one temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or link in directory ``path`` durable (best effort: not every OS can)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------ --check / --diff


def find_existing(out_dir: Path, filename: str, fmt: str) -> Path | None:
    """The runbook a regeneration replaces: today's file, else the newest dated sibling."""
    target = out_dir / f"{filename}.{fmt}"
    if target.is_file():
        return target
    rest = _DATED.sub("", filename)
    if rest == filename or not out_dir.is_dir():
        return None
    pattern = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}-{re.escape(rest)}\.{re.escape(fmt)}$")
    found = sorted(p for p in out_dir.iterdir() if p.is_file() and pattern.match(p.name))
    return found[-1] if found else None


def sync_generated(new: str, old: str) -> str:
    """``new`` with ``old``'s Generated line (or JSON field), so a date-only change is no change."""
    from runbook.render.markdown import add_marker, marker_state

    j_old, j_new = _GENERATED_JSON.search(old), _GENERATED_JSON.search(new)
    if j_old is not None and j_new is not None and _GENERATED.search(new) is None:
        return new[: j_new.start()] + j_old.group(0) + new[j_new.end() :]
    m = _GENERATED.search(old)
    if m is None or _GENERATED.search(new) is None:
        return new
    body, marker = split_marker(new)
    fresh = marker != "" and marker_state(new) == "unedited"
    body = _GENERATED.sub(lambda _m: m.group(0), body, count=1)
    if fresh:
        return add_marker(body)
    return f"{body}\n{marker}\n" if marker else body


def same_content(a: str, b: str) -> bool:
    """Equal once line endings are normalized."""
    return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """A unified diff (``--- a/…`` / ``+++ b/…``) like black's ``--diff``."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_name,
        tofile=new_name,
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)

"""Markdown structure for the readers: front matter, heading sections, fences, labels, lists.

Sample input: ``## Error Messages`` then ``### Error 1`` then a fenced block, or a label line
``**Duration**: 45s``. markdown-it-py finds headings and fences (so a ``# comment`` inside a
fence is never a heading) and gives 0-based line maps, which become 1-based ``SourceRef`` lines.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

# Only block structure is needed (headings, fences, line maps): inline parsing is most of
# markdown-it's time and is switched off; heading text comes from the raw inline content.
_MD = MarkdownIt("commonmark").use(front_matter_plugin).disable(["inline", "text_join"])
_SEXAGESIMAL = re.compile(r"^([A-Za-z_][\w-]{0,40})\s*:\s*(\d{1,2}(?::[0-5]\d){1,2})\s*$")
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]{0,40})\s*:(?:\s|$)")


# libyaml's parser (when PyYAML was built with it) reads front matter ~10x faster; the same
# SafeConstructor and resolvers build the values. Anything it rejects is re-read by the
# pure-Python parser so problems (and the diagnostics naming them) stay exactly as before.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _safe_load(content: str) -> Any:
    if _FAST_LOADER is not None:
        try:
            return yaml.load(content, Loader=_FAST_LOADER)  # a SafeLoader: no object tags
        except (yaml.YAMLError, ValueError, RecursionError):
            pass
    return yaml.safe_load(content)


def _salvage(content: str) -> dict[str, Any]:
    """Keys still readable one line at a time from front matter that is not valid YAML."""
    out: dict[str, Any] = {}
    for line in content.split("\n"):
        m = _TOP_KEY.match(line)
        if not m:
            continue
        key = m.group(1).strip().lower().replace("-", "_")
        try:
            data = yaml.safe_load(line)
        except (yaml.YAMLError, ValueError, RecursionError):
            # "context: deploy 1.27.0: fixes" or "tags: [a, b" — keep the raw text
            raw = line[m.end() :].strip().strip("'\"")
            if raw:
                out[key] = raw
            continue
        if isinstance(data, dict):
            for v in data.values():
                if isinstance(v, (str, int, float, bool, date, datetime)) or v is None:
                    out[key] = v
    return out


@dataclass(frozen=True, slots=True)
class Fence:
    """A fenced or indented code block."""

    info: str  # first word of the info string, lowercased ("bash", "console", "")
    body: str
    line: int  # 1-based line of the opening fence
    body_line: int  # 1-based line of the first body line
    end: int  # 0-based index of the first line after the block
    attrs: str = ""  # the rest of the info string


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and the lines it governs."""

    level: int
    title: str
    line: int  # 1-based heading line (0 for the text before the first heading)
    start: int  # 0-based index of the first line after the heading
    end: int  # 0-based end: next heading of the same or a higher level
    body_end: int  # 0-based end: next heading of any level
    key: str = ""  # the title normalized for matching (see ``norm_heading``)


class Document:
    """A parsed markdown file: lines, front matter, sections and code blocks."""

    def __init__(self, text: str) -> None:
        # markdown-it ends lines at CR too; line numbers must agree with its maps
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.meta: dict[str, Any] = {}
        self.meta_problem: str | None = None  # why the front matter could not be used
        self.meta_line = 0  # 1-based line of the problem
        self.body_start = 0  # 0-based first line after the front matter
        self.sections: list[Section] = []
        self.fences: list[Fence] = []
        self._fence_starts: list[int] = []  # 0-based opening lines, ascending
        self._in_fence = bytearray()  # 1 for each line inside a code block
        self._section_lines: list[int] = []
        self._parse(text)

    def _parse(self, text: str) -> None:
        tokens = _MD.parse(text)
        heads: list[tuple[int, str, int, int]] = []  # (level, title, line0, after0)
        for idx, tok in enumerate(tokens):
            if tok.type == "front_matter" and tok.map:
                self.body_start = tok.map[1]
                self._load_meta(tok.content)
            elif tok.type == "heading_open" and tok.map:
                inline = tokens[idx + 1] if idx + 1 < len(tokens) else None
                title = inline.content if inline is not None and inline.type == "inline" else ""
                heads.append((int(tok.tag[1:]), _plain(title), tok.map[0], tok.map[1]))
            elif tok.type in ("fence", "code_block") and tok.map:
                info = tok.info.strip() if tok.type == "fence" else ""
                word, _, rest = info.partition(" ")
                word = word.strip("{}.").lower()
                skip = 1 if tok.type == "fence" else 0
                self.fences.append(
                    Fence(
                        word,
                        tok.content.rstrip("\n"),
                        tok.map[0] + 1,
                        tok.map[0] + 1 + skip,
                        tok.map[1],
                        rest.strip(),
                    )
                )
        if not self.body_start and self.lines and self.lines[0].strip() == "---":
            self.meta_problem = "front matter opened on line 1 is never closed"
            self.meta_line = 1
        total = len(self.lines)
        self._fence_starts = [f.line - 1 for f in self.fences]
        self._in_fence = bytearray(total)
        for f in self.fences:
            lo, hi = max(f.line - 1, 0), min(f.end, total)
            self._in_fence[lo:hi] = b"\x01" * max(hi - lo, 0)
        first = heads[0][2] if heads else total
        self.sections.append(Section(0, "", 0, self.body_start, total, first))
        for k, (level, title, line0, after0) in enumerate(heads):
            end = total
            for j in range(k + 1, len(heads)):
                if heads[j][0] <= level:
                    end = heads[j][2]
                    break
            body_end = heads[k + 1][2] if k + 1 < len(heads) else total
            self.sections.append(
                Section(level, title, line0 + 1, after0, end, body_end, norm_heading(title))
            )
        self._section_lines = [s.line for s in self.sections[1:]]

    def _load_meta(self, content: str) -> None:
        try:
            data = _safe_load(content)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
            self.meta_line = (mark.line + 2) if mark is not None else 1
            self.meta_problem = f"invalid YAML front matter ({problem})"
            self.meta = _salvage(content)
            return
        except (ValueError, RecursionError) as exc:  # e.g. an out-of-range date
            self.meta_line = 1
            self.meta_problem = f"invalid YAML front matter ({exc})"
            return
        if data is None:
            return
        if not isinstance(data, dict):
            self.meta_line = 2
            self.meta_problem = "front matter is not a mapping of keys to values"
            return
        self.meta = {str(k).strip().lower().replace("-", "_"): v for k, v in data.items()}
        # YAML 1.1 reads an unquoted 14:30 or 14:30:52 as a base-60 integer; keep the text
        for line in content.split("\n"):
            m = _SEXAGESIMAL.match(line)
            if m:
                key = m.group(1).strip().lower().replace("-", "_")
                if isinstance(self.meta.get(key), int):
                    self.meta[key] = m.group(2)

    # ------------------------------------------------------------------ queries

    @property
    def title(self) -> str:
        """The first level-1 heading (else the first heading), or ""."""
        for level in (1, 2):
            for sec in self.sections[1:]:
                if sec.level == level:
                    return sec.title
        return ""

    def find(self, *variants: str, level: int | None = None) -> list[Section]:
        """Sections whose normalized title starts with one of the normalized variants."""
        keys = [norm_heading(v) for v in variants]
        found = []
        for sec in self.sections[1:]:
            if level is not None and sec.level != level:
                continue
            if any(heading_matches(sec.key, k) for k in keys):
                found.append(sec)
        return found

    def children(self, sec: Section) -> list[Section]:
        """Direct subsections of ``sec``."""
        lo = bisect_left(self._section_lines, sec.start + 1)
        hi = bisect_left(self._section_lines, sec.end + 1)
        subs = self.sections[1 + lo : 1 + hi]
        if not subs:
            return []
        top = min(s.level for s in subs)
        return [s for s in subs if s.level == top]

    def fences_in(self, start: int, end: int) -> list[Fence]:
        """Code blocks whose opening line lies in ``[start, end)`` (0-based)."""
        lo = bisect_left(self._fence_starts, start)
        hi = bisect_left(self._fence_starts, end)
        return self.fences[lo:hi]

    def fence_at_or_after(self, index: int, end: int) -> Fence | None:
        """The first code block opening at or after 0-based ``index`` and before ``end``."""
        k = bisect_left(self._fence_starts, index)
        if k < len(self.fences) and self._fence_starts[k] < end:
            return self.fences[k]
        return None

    def prose(self, start: int, end: int) -> list[tuple[int, str]]:
        """(0-based index, line) for lines in ``[start, end)`` that are outside code blocks."""
        inside = self._in_fence
        lines = self.lines
        return [(i, lines[i]) for i in range(max(start, 0), min(end, len(lines))) if not inside[i]]

    def text(self, start: int, end: int, *, limit: int = 4000) -> str:
        """The raw lines ``[start, end)`` joined and trimmed, bounded to ``limit`` characters."""
        body = "\n".join(self.lines[start:end]).strip()
        return body[:limit]


# emphasis markers; "_" only at word edges so "report_worker" keeps its underscore
_MARKUP = re.compile(r"[*`]+|~~|(?<!\w)_+|_+(?!\w)|<[^>]{1,40}>|\[([^\]]*)\]\([^)]*\)")


def _plain(title: str) -> str:
    return re.sub(r"\s+", " ", _MARKUP.sub(lambda m: m.group(1) or "", title)).strip()


_WORD_RE = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    # singular/plural and a few endings people vary: "Messages"/"Message", "Calls"/"Call"
    for suffix in ("ies", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word.endswith("ss"):
            if suffix == "ies":
                return word[:-3] + "y"
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "sses")):
                return word[:-1]
            return word[: -len(suffix)]
    return word


def norm_heading(title: str) -> str:
    """Lowercase words, numbering and punctuation dropped, each word singularized."""
    words = _WORD_RE.findall(_plain(title).lower())
    while (
        words and (words[0].isdigit() or words[0] in ("step", "part", "section")) and len(words) > 1
    ):
        if words[0] in ("step", "part", "section") and not (len(words) > 1 and words[1].isdigit()):
            break
        words = words[1:]
    return " ".join(_stem(w) for w in words)


def heading_matches(key: str, variant: str) -> bool:
    """True when heading ``key`` begins with the words of ``variant``."""
    return key == variant or key.startswith(variant + " ")


# "**Duration**: 45s", "**Input:**", "- **Exit Code**: 1", "Time: 4m", "__Output__:"
# "**Output** (truncated):" and a bold line alone ("**Output**" above its fence) are labels too
_LABEL = re.compile(
    r"^\s*+(?:>\s*)?(?:[-*+]\s+)?(?:\*\*|__)(?P<a>[^*_:\n]{1,60}?)\s*"
    r"(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*(?:\([^)\n]{0,40}\)\s*)?:)\s*(?P<av>.*)$"
    r"|^\s*+(?:[-*+]\s+)?(?P<b>[A-Za-z][\w ()/'-]{0,40}?)\s*:\s+(?P<bv>.*)$"
    r"|^\s*+(?:[-*+]\s+)?(?P<c>[A-Za-z][\w ()/'-]{0,40}?)\s*:\s*$"
    r"|^\s*+(?:\*\*|__)(?P<d>[A-Za-z][^*_:\n]{0,40}?)(?:\*\*|__)\s*$"
)


def label(line: str) -> tuple[str, str] | None:
    """(normalized label, inline value) for a label line such as ``**Duration**: 45s``."""
    m = _LABEL.match(line)
    if m is None:
        return None
    name = m.group("a") or m.group("b") or m.group("c") or m.group("d") or ""
    value = m.group("av") if m.group("a") is not None else (m.group("bv") or "")
    return norm_heading(name), value.strip()


_BULLET = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d{1,3}[.)])\s+(?P<text>.*)$")


def bullets(doc: Document, start: int, end: int) -> list[tuple[int, str]]:
    """(0-based index, text) of list items in ``[start, end)`` outside code blocks."""
    out = []
    for i, line in doc.prose(start, end):
        m = _BULLET.match(line)
        if m is not None and m.group("text").strip():
            out.append((i, m.group("text").strip()))
    return out


# ---------------------------------------------------------------- front matter


def scalar(value: Any) -> str | None:
    """A front matter value as text (dates ISO formatted), or None for empty / structured values."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def words_list(value: Any) -> tuple[str, ...]:
    """Tags from a YAML list or a comma/space separated string, lowercased, deduplicated, sorted."""
    items: list[str] = []
    if isinstance(value, (list, tuple)):
        for v in value[:100]:
            s = scalar(v)
            if s:
                items.append(s)
    else:
        s = scalar(value)
        if s:
            items.extend(re.split(r"[,\s]+", s.strip("[]")))
    return tuple(
        sorted({i.strip().strip("#'\"").lower() for i in items if i.strip().strip("#'\"")})
    )


def boolean(value: Any) -> bool | None:
    """YAML-ish truthiness for ``resolved:`` values ("yes", "true", "fixed", "no"...)."""
    if isinstance(value, bool):
        return value
    s = (scalar(value) or "").lower()
    if s in ("yes", "true", "y", "1", "resolved", "fixed", "done", "closed"):
        return True
    if s in ("no", "false", "n", "0", "unresolved", "open", "pending", "ongoing"):
        return False
    return None

"""Read any markdown runbook back into a `ParsedRunbook`, keeping 1-based line numbers.

Sample input line: ``### Step 3: Deploy`` followed by ``**Command**:`` and a fence
``sh {"name":"step-3-deploy","interactive":"false"}``. Works on what this tool generates and on
hand-written runbooks in the original template, tolerating common variants: ``## 1. Build``,
``### Step 3 — Deploy``, plain ``Verify:`` labels, numbered-list procedures, YAML front matter.
markdown-it-py finds headings, fences, lists and links, so a ``# comment`` inside a fence is
never a heading; its line maps become the line numbers of every later finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from runbook.model import (
    Diagnostic,
    HeaderField,
    OperationType,
    ParsedCommand,
    ParsedIssue,
    ParsedLink,
    ParsedRunbook,
    ParsedSection,
    ParsedStep,
    SourceRef,
)
from runbook.sources.shell import HEREDOC
from runbook.timeparse import parse_duration

__all__ = [
    "PLACEHOLDER",
    "SECTION_KEYS",
    "apply_sidecar",
    "command_placeholders",
    "declared_parameters",
    "heading_lines",
    "operation_from_text",
    "parse_runbook",
    "parse_runbook_file",
    "placeholders_in",
    "shell_commands",
    "stray_placeholders",
    "written_date",
]

_MD = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)

# `{image-tag}`, `{function_name}`; not `${VAR}`, curl's `%{http_code}`, `{{ jinja }}` or JSON.
PLACEHOLDER = re.compile(r"(?<![$%{])\{([a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*)\}(?!\})")

# Braces that are another language's syntax, not placeholders: a jsonpath / Go-template word
# (kubectl get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}') and the
# program of a JSON processor (jq '.[] | {name}').
_TEMPLATE_EXPR = re.compile(r"\{(?:\.|@|\$\.|range\s)")
_SHELL_WORD = re.compile(r"""(?:'[^']*'|"(?:[^"\\]|\\.)*"|[^\s'"])+""")
_JSON_TOOLS = frozenset({"jq", "yq", "gojq", "jaq"})
_LIST_OPERATOR = re.compile(r"^(?:\|\|?|&&|;)$")


def _template_spans(command: str) -> list[tuple[int, int]]:
    if "{" not in command:
        return []
    spans: list[tuple[int, int]] = []
    in_tool = False  # the words after jq: its program and files
    for m in _SHELL_WORD.finditer(command):
        word = m.group(0)
        if _LIST_OPERATOR.match(word):
            in_tool = False
        elif in_tool or _TEMPLATE_EXPR.search(word):
            spans.append(m.span())
        if word.rsplit("/", 1)[-1] in _JSON_TOOLS:
            in_tool = True
    return spans


def command_placeholders(
    command: str, explained: Collection[str] = (), *, closed: bool = False
) -> list[re.Match[str]]:
    """The ``{name}`` parameters of ``command``: the ``explained`` names, and unless the runbook
    declares its full set (``closed``: a Parameters section) every other ``{name}`` outside
    jsonpath / template / jq expressions, whose braces are syntax (``{end}``)."""
    spans = () if closed else _template_spans(command)
    return [
        m
        for m in PLACEHOLDER.finditer(command)
        if m.group(1) in explained or (not closed and not any(a <= m.start() < b for a, b in spans))
    ]


def stray_placeholders(command: str, explained: Collection[str]) -> list[re.Match[str]]:
    """``{name}``s of ``command`` that look like parameters but are not ``explained`` (outside
    jsonpath / template / jq expressions)."""
    spans = _template_spans(command)
    return [
        m
        for m in PLACEHOLDER.finditer(command)
        if m.group(1) not in explained and not any(a <= m.start() < b for a, b in spans)
    ]


def declared_parameters(parsed: ParsedRunbook) -> tuple[frozenset[str], bool]:
    """(every ``{name}`` the runbook explains, whether that is its full set of parameters).

    A Parameters section declares the full set; ``**Parameters**:`` lists under steps only
    explain their own step's names, so other ``{names}`` are still parameters.
    """
    names = frozenset(name for name, _line in parsed.parameters)
    return names, bool(names) and parsed.section("parameters") is not None


# Canonical section keys and the heading words that name them (first match wins, so the
# more specific names come first).
SECTION_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rollback", ("rollback", "roll back", "rolling back", "revert", "backout", "back out", "undo")),
    ("troubleshooting", ("troubleshoot", "common issues", "known issues", "common problems", "faq",
                         "goes wrong", "go wrong")),
    ("prerequisites", ("prerequisite", "pre-requisite", "requirements", "before you begin",
                       "before you start", "preparation", "pre-checks", "prechecks")),
    ("verification", ("verification", "verify", "validation", "post-operation", "post-deploy",
                      "post-deployment", "health check", "checks")),
    ("monitoring", ("monitoring", "observability", "what to monitor", "alerting", "alerts")),
    ("related", ("related", "references", "see also", "resources", "links", "further reading")),
    ("parameters", ("parameters", "variables", "placeholders", "inputs")),
    ("overview", ("overview", "summary", "purpose", "about", "introduction", "context")),
    ("procedure", ("procedure", "steps", "instructions", "how to", "runbook steps", "execution",
                   "process", "playbook")),
)  # fmt: skip

# Labels inside a step (``**Command**:``), canonical name -> spellings.
_LABELS: dict[str, tuple[str, ...]] = {
    "purpose": ("purpose", "why", "goal"),
    "command": ("command", "commands", "run", "action", "execute", "how"),
    "expected_output": ("expected output", "output", "sample output", "example output"),
    "duration": ("expected duration", "duration", "estimated duration", "time", "estimated time",
                 "eta", "takes"),
    "verification": ("verification", "verify", "check", "checks", "validation", "validate",
                     "confirm"),
    "expected": ("expected", "expected response", "expect", "expected result", "success criteria"),
    "if_failed": ("if failed", "if it fails", "if this fails", "on failure", "failure",
                  "fallback", "troubleshooting", "if not"),
    "parameters": ("parameters", "params", "placeholders", "variables", "inputs"),
    "logs": ("logs", "cloudwatch logs", "log", "monitor"),
    "manual": ("manual", "manual step"),
    "symptoms": ("symptoms", "symptom"),
    "signature": ("signature", "error signature", "error"),
    "cause": ("cause", "root cause"),
    "solution": ("solution", "fix", "resolution", "workaround", "remedy"),
    "prevention": ("prevention",),
    "when": ("when to rollback", "when to roll back", "when to use", "when"),
    "provenance": ("provenance",),
}  # fmt: skip
_LABEL_OF = {spelling: name for name, spellings in _LABELS.items() for spelling in spellings}
_LABEL = re.compile(
    r"^\s*(?:[*_]{1,2})?\s*([A-Za-z][A-Za-z /()'-]{0,40}?)\s*(?::\s*(?:[*_]{1,2})?|(?:[*_]{1,2})\s*:)"
    r"\s*(.*)$"
)

# Header fields (``**Last Validated**: 2025-12-16``), canonical name -> spellings.
_HEADER: dict[str, tuple[str, ...]] = {
    "generated": ("generated", "created", "written", "date"),
    "last_validated": ("last validated", "last reviewed", "last verified", "last tested",
                       "validated", "reviewed", "last_validated", "last-validated"),
    "estimated_duration": ("estimated duration", "duration", "estimated time", "expected duration",
                           "time required", "estimated_duration"),
    "owner": ("runbook owner", "owner", "owners", "maintainer", "maintainers", "team"),
    "review_frequency": ("review frequency", "review cadence", "review interval", "review",
                         "review_frequency", "review-frequency"),
    "operation_type": ("type", "operation type", "operation", "runbook type", "operation_type"),
    "scope": ("scope", "service", "component"),
}  # fmt: skip
_HEADER_OF = {spelling: name for name, spellings in _HEADER.items() for spelling in spellings}

_STEP_HEADING = re.compile(
    r"^(?:step\s*#?\s*(\d+)\s*(?:[:.)]|[-–—])?\s*(.*)|(\d+)\s*(?:[.)]|[:]|\s[-–—])\s*(.+))$",
    re.IGNORECASE,
)
_PHASE_HEADING = re.compile(
    r"^(?:phase|stage)\s*(?:\d+|[ivx]+)?\s*(?:[:.)]|[-–—])?\s*(.*?)\s*(?:\(steps?\b.*\))?$",
    re.IGNORECASE,
)
_OPTIONAL = re.compile(r"\s*\((?:optional|opt\.)[^)]*\)\s*$|\s*\[optional\]\s*$", re.IGNORECASE)
_MANUAL = re.compile(
    r"\bmanual(?:ly)?\b|\bby hand\b|\bnavigate to\b|\bin the (?:aws |gcp |azure )?"
    r"(?:console|ui|dashboard|browser|web ui)\b",
    re.IGNORECASE,
)
_SHELL_LANGS = frozenset(
    {"", "sh", "bash", "shell", "zsh", "fish", "console", "shell-session", "terminal", "ps",
     "powershell", "pwsh", "cmd", "bat", "sql", "psql", "mysql"}
)  # fmt: skip
_OUTPUT_LANGS = frozenset({"text", "txt", "output", "json", "yaml", "yml", "log", "plain", "xml"})
_PROMPT = re.compile(r"^\s*(?:\(\S+\)\s*)?(?:[\w.@~:/-]*[$#%>]|PS[^>]*>)\s+(?=\S)")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


# ------------------------------------------------------------------ blocks


@dataclass(slots=True)
class _Block:
    """One line-addressed piece of the document, in reading order."""

    kind: str  # heading | text | fence | html | row
    line: int  # 1-based
    end: int  # 1-based last line
    text: str = ""
    level: int = 0  # heading level
    info: str = ""  # fence info string
    in_list: bool = False
    item_start: bool = False  # first line of a list item
    ordered_item: int = 0  # top-level ordered list item number (0 = not in one)
    links: list[tuple[str, str]] = field(default_factory=list)


def _blocks(text: str) -> tuple[list[_Block], dict[str, Any], list[Diagnostic]]:
    """Flatten markdown-it tokens into blocks; return blocks, front matter and diagnostics."""
    tokens = _MD.parse(text)
    blocks: list[_Block] = []
    meta: dict[str, Any] = {}
    diags: list[Diagnostic] = []
    list_stack: list[str] = []  # "ol" | "ul"
    item_counter = 0
    current_item = 0
    pending_item_start = False
    row: list[str] = []
    row_line = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        line = (tok.map[0] + 1) if tok.map else 0
        end = tok.map[1] if tok.map else line
        if tok.type == "front_matter":
            try:
                data = yaml.safe_load(tok.content)
            except (yaml.YAMLError, ValueError, RecursionError) as exc:
                diags.append(Diagnostic(SourceRef("", 1), f"front matter is not valid YAML: {exc}"))
                data = None
            if isinstance(data, dict):
                meta = {str(k).strip().lower(): v for k, v in data.items()}
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            list_stack.append("ol" if tok.type.startswith("ordered") else "ul")
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            if list_stack:
                list_stack.pop()
        elif tok.type == "list_item_open":
            pending_item_start = True
            if len(list_stack) == 1 and list_stack[0] == "ol":
                item_counter += 1
                current_item = item_counter
        elif tok.type == "list_item_close":
            if len(list_stack) == 1:
                current_item = 0
        elif tok.type == "heading_open":
            inline = tokens[i + 1] if i + 1 < len(tokens) else None
            content = inline.content if inline is not None else ""
            blocks.append(
                _Block("heading", line, end, content.strip(), level=int(tok.tag[1:]),
                       links=_links(inline))
            )  # fmt: skip
            i += 2
            continue
        elif tok.type in ("fence", "code_block"):
            blocks.append(
                _Block("fence", line, max(line, end), tok.content, info=tok.info.strip(),
                       in_list=bool(list_stack), ordered_item=current_item)
            )  # fmt: skip
        elif tok.type == "html_block":
            blocks.append(_Block("html", line, end, tok.content))
        elif tok.type == "tr_open":
            row, row_line = [], line
        elif tok.type == "tr_close":
            blocks.append(_Block("row", row_line, row_line, " | ".join(row)))
        elif tok.type == "inline":
            if tokens[i - 1].type in ("th_open", "td_open"):
                row.append(tok.content)
            else:
                links = _links(tok)
                for k, part in enumerate(tok.content.split("\n")):
                    blocks.append(
                        _Block("text", line + k, line + k, part, in_list=bool(list_stack),
                               item_start=pending_item_start and k == 0,
                               ordered_item=current_item, links=links if k == 0 else [])
                    )  # fmt: skip
                pending_item_start = False
        i += 1
    return blocks, meta, diags


def _links(inline: Token | None) -> list[tuple[str, str]]:
    if inline is None or not inline.children:
        return []
    out: list[tuple[str, str]] = []
    children = inline.children
    for k, child in enumerate(children):
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            label = []
            for nxt in children[k + 1 :]:
                if nxt.type == "link_close":
                    break
                label.append(nxt.content)
            out.append(("".join(label), href))
        elif child.type == "image":
            out.append((child.content, str(child.attrs.get("src", ""))))
    return out


# ------------------------------------------------------------------ helpers


def _plain(text: str) -> str:
    """Heading or label text without emphasis, code ticks, emoji and numbering."""
    text = re.sub(r"\*+|`+|(?<!\w)_+|_+(?!\w)", "", text)
    text = re.sub(r"[^\w\s/()'.:&-]", " ", text)
    return " ".join(text.split()).strip()


def heading_lines(text: str, max_level: int = 6) -> list[tuple[int, int, str]]:
    """(0-based line, level, title) of the top-level headings of ``text``, as CommonMark reads
    them (never inside fences, code blocks, front matter, lists or quotes)."""
    tokens = _MD.parse(text)
    out: list[tuple[int, int, str]] = []
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open" or tok.level != 0 or not tok.map:
            continue
        level = int(tok.tag[1:])
        if level <= max_level:
            inline = tokens[i + 1] if i + 1 < len(tokens) else None
            out.append((tok.map[0], level, inline.content.strip() if inline is not None else ""))
    return out


def section_key(title: str) -> str:
    """Canonical key of a section heading (``Rollback Procedure`` -> ``rollback``), or ""."""
    low = _plain(title).lower()
    low = re.sub(r"^(?:\d+[.)]?|[ivx]+\.)\s+", "", low)
    for key, words in SECTION_KEYS:
        for word in words:
            if re.search(rf"(?<![\w-]){re.escape(word)}", low):
                return key
    return ""


def _label(text: str, *, emphasized: bool = False) -> tuple[str, str] | None:
    """``**Expected Duration**: ~45 s`` -> ("duration", "~45 s"); only known labels count."""
    if emphasized and not text.lstrip().startswith(("*", "_")):
        return None  # "- Check: ..." inside a list is an item, not a label
    m = _LABEL.match(text)
    if not m:
        return None
    name = " ".join(m.group(1).lower().split())
    name = re.sub(r"\s*\(.*\)$", "", name)
    canonical = _LABEL_OF.get(name)
    if canonical is None:
        return None
    return canonical, m.group(2).strip().strip("*_").strip()


def _heading_label(title: str) -> str | None:
    name = _plain(title).lower().rstrip(":")
    return _LABEL_OF.get(name)


def shell_commands(body: str, language: str = "") -> list[tuple[int, str]]:
    """Logical commands of a code block: (0-based line offset, text); prompts stripped."""
    lines = body.split("\n")
    prompts = language in ("console", "shell-session", "terminal") or any(
        _PROMPT.match(x) and x.lstrip().startswith("$ ") for x in lines
    )
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    heredoc: str | None = None
    for index, raw in enumerate(lines):
        line = raw.rstrip()
        if heredoc is not None:
            current.append(line)
            if line.strip() == heredoc:
                out.append((start, "\n".join(current)))
                current, heredoc = [], None
            continue
        if not current:
            stripped = line.strip()
            if not stripped or (stripped.startswith("#") and not stripped.startswith("#!")):
                continue
            if prompts:
                m = _PROMPT.match(line)
                if not m:
                    continue  # output line of a transcript
                line = line[m.end() :]
            start = index
        current.append(line.strip() if not current else line)
        doc = HEREDOC.search(line)
        if doc:
            heredoc = doc.group(3)
            continue
        if line.endswith("\\"):
            continue
        text = " ".join(part.rstrip("\\").strip() for part in current).strip()
        if text:
            out.append((start, text))
        current = []
    if current:
        out.append((start, "\n".join(current).strip()))
    return out


def placeholders_in(texts: Iterable[str]) -> tuple[str, ...]:
    """Sorted unique ``{name}`` placeholders in ``texts``."""
    return tuple(sorted({m.group(1) for t in texts for m in PLACEHOLDER.finditer(t)}))


def _runme(info: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """Fence info -> (language, name, attrs). ``sh {"name":"step-1","interactive":"false"}``."""
    info = info.strip()
    language = info.split(None, 1)[0].lower() if info else ""
    if language.startswith("{"):
        language = ""
    attrs: dict[str, str] = {}
    brace = info.find("{")
    if brace >= 0:
        raw = info[brace:]
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
            # Runme also accepts `{ name=step-1 interactive=false }`.
            for m in re.finditer(r"([\w-]+)\s*=\s*\"?([^\s\"}]+)\"?", raw):
                attrs[m.group(1)] = m.group(2)
        if isinstance(data, dict):
            attrs = {str(k): str(v) for k, v in data.items()}
    return language, attrs.get("name", ""), tuple(sorted(attrs.items()))


def _command_block(block: _Block) -> ParsedCommand:
    language, name, attrs = _runme(block.info)
    body = block.text.rstrip("\n")
    body_line = block.line + 1 if block.info or block.kind == "fence" else block.line
    found = shell_commands(body, language)
    return ParsedCommand(
        text=body,
        line=body_line,
        commands=tuple(c for _o, c in found),
        lines=tuple(body_line + o for o, _c in found),
        language=language,
        name=name,
        attrs=attrs,
    )


def _inline_commands(text: str, line: int) -> list[ParsedCommand]:
    """Commands written as inline code in a label value: ``Verify: `curl -f https://x` ``."""
    out = []
    for m in _CODE_SPAN.finditer(text):
        code = m.group(2).strip()
        if " " in code and not code.startswith("{") and re.match(r"^[\w./$-]", code):
            out.append(ParsedCommand(text=code, line=line, commands=(code,), lines=(line,)))
    return out


def _is_command_fence(block: _Block) -> bool:
    language = _runme(block.info)[0]
    return language in _SHELL_LANGS or (language not in _OUTPUT_LANGS and "name" in block.info)


# ------------------------------------------------------------------ units


@dataclass(slots=True)
class _Unit:
    """A step / check / rollback step being read."""

    number: int
    title: str
    line: int
    end: int
    phase: str = ""
    purpose: list[str] = field(default_factory=list)
    commands: list[ParsedCommand] = field(default_factory=list)
    expected_output: list[str] = field(default_factory=list)
    duration_text: str = ""
    verification: list[ParsedCommand] = field(default_factory=list)
    verification_text: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    if_failed: list[str] = field(default_factory=list)
    parameters: set[str] = field(default_factory=set)
    manual: bool = False
    prose: list[tuple[int, str]] = field(default_factory=list)
    logs: list[ParsedCommand] = field(default_factory=list)

    def freeze(self) -> ParsedStep:
        title = self.title
        optional = bool(_OPTIONAL.search(title)) or title.lower().startswith("optional")
        title = _OPTIONAL.sub("", title).strip()
        duration_text = self.duration_text
        seconds = None
        if duration_text and not duration_text.lower().startswith(("unknown", "n/a", "none")):
            seconds = parse_duration(re.sub(r"\(.*", "", duration_text).strip())
        texts = [c for b in (*self.commands, *self.verification) for c in b.commands]
        manual = self.manual or bool(_MANUAL.search(title))
        manual = manual or any(_MANUAL.search(t) for _line, t in self.prose)
        return ParsedStep(
            number=self.number,
            title=title,
            line=self.line,
            end_line=self.end,
            phase=self.phase,
            purpose=" ".join(self.purpose).strip(),
            commands=tuple(self.commands),
            expected_output="\n".join(self.expected_output).strip("\n"),
            expected_duration_s=seconds,
            expected_duration_text=duration_text,
            verification=tuple(self.verification),
            verification_text=" ".join(self.verification_text).strip(),
            expected="\n".join(self.expected).strip(),
            if_failed=tuple(self.if_failed),
            placeholders=placeholders_in(texts),
            parameters=tuple(sorted(self.parameters)),
            manual=manual,
            optional=optional,
            prose=tuple(self.prose),
            log_commands=tuple(self.logs),
        )


def _read_unit(unit: _Unit, blocks: Sequence[_Block], *, default_label: str | None) -> _Unit:
    """Route the blocks of one step to its fields by the label in force."""
    label: str | None = default_label
    for b in blocks:
        if b.kind == "heading":
            label = _heading_label(b.text) or default_label
            unit.prose.append((b.line, b.text))
            continue
        if b.kind == "text":
            text = b.text
            if not text.strip():
                continue
            unit.prose.append((b.line, text))
            found = None if b.in_list and not b.item_start else _label(text, emphasized=b.in_list)
            if found is not None:
                label, value = found
                _label_value(unit, label, value, b.line)
                continue
            _text_under(unit, label, text, b)
            continue
        if b.kind == "fence":
            _fence_under(unit, label, b)
        elif b.kind == "row":
            unit.prose.append((b.line, b.text))
    return unit


def _label_value(unit: _Unit, label: str, value: str, line: int) -> None:
    if label == "purpose" and value:
        unit.purpose.append(value)
    elif label == "duration":
        unit.duration_text = value
    elif label == "command" and value:
        unit.commands.extend(_inline_commands(value, line))
    elif label == "verification" and value:
        cmds = _inline_commands(value, line)
        unit.verification.extend(cmds)
        if not cmds:
            unit.verification_text.append(value)
        else:
            unit.expected.append(_CODE_SPAN.sub("", value).strip(" .,;:—-"))
    elif label == "expected" and value:
        unit.expected.append(value)
    elif label == "if_failed" and value:
        unit.if_failed.append(value)
    elif label == "manual":
        unit.manual = True
    elif label == "parameters" and value:
        unit.parameters.update(m.group(1) for m in PLACEHOLDER.finditer(value))


def _text_under(unit: _Unit, label: str | None, text: str, b: _Block) -> None:
    if label == "if_failed" and b.in_list:
        if b.item_start or not unit.if_failed:
            unit.if_failed.append(text.strip())
        else:
            unit.if_failed[-1] += " " + text.strip()
    elif label == "parameters":
        unit.parameters.update(m.group(1) for m in PLACEHOLDER.finditer(text.split("—")[0]))
    elif label == "expected":
        unit.expected.append(text.strip())
    elif label == "expected_output" and not unit.expected_output:
        unit.expected_output.append(text.strip())
    elif label == "verification":
        cmds = _inline_commands(text, b.line)
        unit.verification.extend(cmds)
        if not cmds:
            unit.verification_text.append(text.strip())
    elif label == "purpose":
        unit.purpose.append(text.strip())
    elif label in (None, "command") and b.in_list:
        # "- Run `make deploy`" in a step without fences: the inline code is the command.
        unit.commands.extend(_inline_commands(text, b.line))


def _fence_under(unit: _Unit, label: str | None, b: _Block) -> None:
    block = _command_block(b)
    if label in ("expected_output",):
        unit.expected_output.append(block.text)
    elif label == "expected":
        unit.expected.append(block.text)
    elif label == "verification":
        if _is_command_fence(b):
            unit.verification.append(block)
        else:
            unit.expected.append(block.text)
    elif label == "logs":
        unit.logs.append(block)
    elif label == "if_failed":
        unit.if_failed.extend(block.commands)
    elif label in (None, "command", "solution", "purpose", "duration", "manual"):
        if _is_command_fence(b) and not (not b.info and unit.commands and label is None):
            unit.commands.append(block)
        else:
            unit.expected_output.append(block.text)
    elif _is_command_fence(b) and b.info:
        unit.commands.append(block)


# ------------------------------------------------------------------ the document


def parse_runbook(text: str, path: str = "") -> ParsedRunbook:
    """Parse markdown ``text`` (the runbook at ``path``) into a `ParsedRunbook`."""
    from runbook.render.markdown import marker_state

    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks, meta, diags = _blocks(text)
    diags = [Diagnostic(SourceRef(path, d.source.line), d.message, d.level) for d in diags]
    headings = [b for b in blocks if b.kind == "heading"]
    last_line = text.count("\n") + 1

    title, title_line = "", 0
    if headings and headings[0].level == 1:
        title, title_line = headings[0].text, headings[0].line
    elif isinstance(meta.get("title"), str):
        title = str(meta["title"])
    rest = [h for h in headings if h.line != title_line]
    section_level = min((h.level for h in rest), default=2)
    # A document whose sections are all H1 and has a separate H1 title still works.
    sections = _sections(rest, section_level, last_line)

    header = _header(blocks, meta, sections, path, diags)
    fields = {h.name: h for h in header}

    steps, phases = _steps(blocks, headings, sections, section_level, last_line)
    checks = _checks(blocks, headings, sections, last_line)
    rollback_steps, when, provenance = _rollback(blocks, headings, sections, last_line)
    issues = _issues(blocks, headings, sections, last_line)
    links = tuple(
        ParsedLink(label, href, b.line) for b in blocks for label, href in b.links if href
    )
    parameters = _explained(blocks, sections, steps)

    op, scope = operation_from_text(title)
    # A declared type (`**Type**: rollback`, front matter `type:`) beats words in the title.
    if "operation_type" in fields:
        declared, _ = operation_from_text(fields["operation_type"].value)
        op = declared if declared is not OperationType.NONE else op
    if "scope" in fields and fields["scope"].value.strip():
        scope = fields["scope"].value.strip()

    generated = _date_of(fields.get("generated"), path, diags)
    validated = _date_of(fields.get("last_validated"), path, diags)
    duration = None
    if "estimated_duration" in fields:
        value = fields["estimated_duration"].value
        if not value.lower().startswith(("unknown", "n/a", "none", "tbd")):
            duration = parse_duration(re.sub(r"\(.*", "", value).strip())
            if duration is None:
                line = fields["estimated_duration"].line
                diags.append(
                    Diagnostic(SourceRef(path, line), f"cannot read a duration in {value!r}")
                )
    return ParsedRunbook(
        path=path,
        title=title,
        title_line=title_line,
        operation_type=op,
        scope=scope,
        header=tuple(header),
        generated=generated,
        last_validated=validated,
        estimated_duration_s=duration,
        owner=fields["owner"].value if "owner" in fields else "",
        review_frequency=fields["review_frequency"].value if "review_frequency" in fields else "",
        sections=tuple(sections),
        steps=tuple(steps),
        phases=tuple(phases),
        checks=tuple(checks),
        rollback_steps=tuple(rollback_steps),
        rollback_when=tuple(when),
        rollback_provenance=provenance,
        troubleshooting=tuple(issues),
        links=links,
        parameters=parameters,
        marker=marker_state(text),
        diagnostics=tuple(diags),
    )


def parse_runbook_file(path: Path, display: str | None = None) -> ParsedRunbook:
    """Read and parse a runbook file; the JSON sidecar (same stem) supplies type and scope."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return apply_sidecar(parse_runbook(text, display or path.as_posix()), path)


def apply_sidecar(parsed: ParsedRunbook, path: Path) -> ParsedRunbook:
    """Operation type and scope from ``path``'s JSON sidecar (``runbook.json``), when present."""
    sidecar = path.with_suffix(".json")
    if sidecar == path or not sidecar.is_file():
        return parsed
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return parsed
    if not isinstance(data, dict) or not isinstance(data.get("operation_type"), str):
        return parsed
    try:
        op = OperationType(data["operation_type"])
    except ValueError:
        return parsed
    scope = data.get("scope")
    return replace(
        parsed, operation_type=op, scope=scope if isinstance(scope, str) else parsed.scope
    )


def _sections(headings: Sequence[_Block], level: int, last_line: int) -> list[ParsedSection]:
    tops = [h for h in headings if h.level <= level]
    out = []
    for k, h in enumerate(tops):
        end = tops[k + 1].line - 1 if k + 1 < len(tops) else last_line
        out.append(ParsedSection(h.text, section_key(h.text), h.level, h.line, end))
    return out


def _in(blocks: Sequence[_Block], start: int, end: int) -> list[_Block]:
    return [b for b in blocks if start <= b.line <= end]


def _header(
    blocks: Sequence[_Block],
    meta: dict[str, Any],
    sections: Sequence[ParsedSection],
    path: str,
    diags: list[Diagnostic],
) -> list[HeaderField]:
    found: dict[str, HeaderField] = {}
    for key, value in sorted(meta.items()):
        name = _HEADER_OF.get(key.replace("_", " ")) or _HEADER_OF.get(key)
        if name and name not in found and value is not None:
            found[name] = HeaderField(name, str(value), 1)
    # Header lines live before the first section (the original puts them under the title).
    limit = sections[0].line if sections else 40
    for b in blocks:
        if b.line >= limit:
            break
        if b.kind == "row":
            # | **Owner** | payments-team |  (a header written as a table)
            cells = [c.strip() for c in b.text.split(" | ")]
            if len(cells) >= 2:
                key = " ".join(re.sub(r"[*_`:]", "", cells[0]).lower().split())
                name = _HEADER_OF.get(key)
                if name and name not in found:
                    found[name] = HeaderField(name, cells[1].strip("*_ ").strip(), b.line)
            continue
        if b.kind != "text":
            continue
        m = _LABEL.match(b.text)
        if not m:
            continue
        key = " ".join(m.group(1).lower().split())
        name = _HEADER_OF.get(key)
        if name and name not in found:
            found[name] = HeaderField(name, m.group(2).strip().strip("*_").strip(), b.line)
    return [found[k] for k in _HEADER if k in found]


def _date_of(hf: HeaderField | None, path: str, diags: list[Diagnostic]) -> date | None:
    if hf is None:
        return None
    found = written_date(hf.value)
    if found is not None:
        return found
    if not hf.value.lower().startswith(("unknown", "n/a", "never", "tbd", "{")):
        diags.append(
            Diagnostic(SourceRef(path, hf.line), f"cannot read a YYYY-MM-DD date in {hf.value!r}")
        )
    return None


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}  # fmt: skip
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_SLASHED = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")


def written_date(text: str) -> date | None:
    """A date as people write it in a header: ``2025-12-16``, ``Dec 16, 2025``, ``16 December
    2025``, or ``16/12/2025`` when day and month cannot be confused."""
    candidates: list[tuple[int, int, int]] = []
    if m := _ISO_DATE.search(text):
        candidates.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    elif m := _DAY_MONTH_YEAR.search(text):
        candidates.append((int(m.group(3)), _MONTHS[m.group(2).lower()[:3]], int(m.group(1))))
    elif m := _MONTH_DAY_YEAR.search(text):
        candidates.append((int(m.group(3)), _MONTHS[m.group(1).lower()[:3]], int(m.group(2))))
    elif m := _SLASHED.search(text):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 >= b:
            candidates.append((year, b, a))
        elif b > 12 >= a:
            candidates.append((year, a, b))
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def _owned_by(sections: Sequence[ParsedSection], line: int) -> ParsedSection | None:
    return next((s for s in sections if s.line <= line <= s.end_line), None)


def _steps(
    blocks: Sequence[_Block],
    headings: Sequence[_Block],
    sections: Sequence[ParsedSection],
    section_level: int,
    last_line: int,
) -> tuple[list[ParsedStep], list[str]]:
    other = {"rollback", "verification", "troubleshooting", "monitoring", "related", "parameters"}
    procedure = [s for s in sections if s.key == "procedure"]
    # Step-like headings outside the sections that have steps of their own.
    candidates = []
    for h in headings:
        owner = _owned_by(sections, h.line)
        if owner is not None and owner.key in other:
            continue
        if owner is not None and owner.line == h.line and owner.key in ("procedure",):
            continue
        candidates.append((h, owner))
    step_like = [h for h, _o in candidates if _STEP_HEADING.match(_plain(h.text))]
    in_proc = [
        h
        for h, o in candidates
        if o is not None and o.key == "procedure" and h.line != o.line and h.level > o.level
    ]
    if step_like:
        step_level = min(h.level for h in step_like)
    elif in_proc:
        non_phase = [h for h in in_proc if not _PHASE_HEADING.match(_plain(h.text))]
        # The shallowest level that is not all phases; deeper headings are step parts.
        levels = sorted({h.level for h in non_phase})
        step_level = levels[0] if levels else 0
    else:
        step_level = 0

    out: list[ParsedStep] = []
    phases: list[str] = []
    if step_level:
        pool = [h for h, _o in candidates if h.level <= step_level]
        phase = ""
        number = 0
        for k, h in enumerate(pool):
            plain = _plain(h.text)
            owner = _owned_by(sections, h.line)
            pm = _PHASE_HEADING.match(plain)
            if pm and section_level < h.level <= step_level:
                # `### Phase 2: Deploy (steps 4–6)`, at the steps' own level in generated runbooks
                phase = pm.group(1) or plain
                phases.append(phase)
                continue
            is_step = h.level == step_level and (
                bool(_STEP_HEADING.match(plain)) or (owner is not None and owner.key == "procedure")
            )
            if not is_step:
                if h.level <= section_level:
                    phase = ""
                continue
            nxt = next((p for p in pool[k + 1 :]), None)
            end = nxt.line - 1 if nxt is not None else (owner.end_line if owner else last_line)
            if owner is not None:
                end = min(end, owner.end_line)
            m = _STEP_HEADING.match(plain)
            number = number + 1
            title = plain
            if m:
                number = int(m.group(1) or m.group(3) or number)
                title = (m.group(2) or m.group(4) or "").strip() or plain
            unit = _Unit(number, title, h.line, end, phase=phase)
            out.append(_read_unit(unit, _in(blocks, h.line + 1, end), default_label=None).freeze())
    elif procedure:
        out = _paragraph_steps(blocks, procedure[0]) or _list_steps(blocks, procedure[0])
    return out, phases


_STEP_PARAGRAPH = re.compile(r"^step\s*#?\s*(\d+)\s*(?:[:.)]|[-–—])?\s*(.*?)\s*:?$", re.IGNORECASE)


def _paragraph_steps(blocks: Sequence[_Block], section: ParsedSection) -> list[ParsedStep]:
    """Steps introduced by a paragraph, not a heading: ``**Step 2: Push the image**``."""
    inner = _in(blocks, section.line + 1, section.end_line)
    starts = [
        (k, m)
        for k, b in enumerate(inner)
        if b.kind == "text" and not b.in_list and (m := _STEP_PARAGRAPH.match(_plain(b.text)))
    ]
    out = []
    for n, (k, m) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(inner)
        first, group = inner[k], inner[k + 1 : stop]
        end = group[-1].end if group else first.end
        unit = _Unit(int(m.group(1)), m.group(2).strip() or _plain(first.text), first.line, end)
        unit.prose.append((first.line, first.text))
        out.append(_read_unit(unit, group, default_label=None).freeze())
    return out


def _list_steps(blocks: Sequence[_Block], section: ParsedSection) -> list[ParsedStep]:
    """A procedure written as a numbered list: each top-level item is a step."""
    items: dict[int, list[_Block]] = {}
    current = 0
    for b in _in(blocks, section.line + 1, section.end_line):
        if b.ordered_item:
            current = b.ordered_item
            items.setdefault(current, []).append(b)
        elif current and b.kind == "fence":
            # An unindented fence ends the list in CommonMark, but it belongs to the item above.
            items[current].append(b)
    out = []
    for number, (_item, group) in enumerate(sorted(items.items()), start=1):
        first = group[0]
        title = _CODE_SPAN.sub(lambda m: m.group(2), first.text).strip()
        title = re.sub(r"[*_]+", "", title).rstrip(":").strip()
        unit = _Unit(number, title[:120], first.line, group[-1].end)
        unit.commands.extend(_inline_commands(first.text, first.line))
        unit.prose.append((first.line, first.text))
        rest = [dataclass_copy(b, in_list=False, item_start=False) for b in group[1:]]
        out.append(_read_unit(unit, rest, default_label=None).freeze())
    return out


def dataclass_copy(b: _Block, **changes: Any) -> _Block:
    """A copy of a block with some fields changed (blocks are mutable working state)."""
    copy = _Block(b.kind, b.line, b.end, b.text, b.level, b.info, b.in_list, b.item_start,
                  b.ordered_item, list(b.links))  # fmt: skip
    for key, value in changes.items():
        setattr(copy, key, value)
    return copy


def _sub_units(
    blocks: Sequence[_Block],
    headings: Sequence[_Block],
    section: ParsedSection,
    *,
    skip: Iterable[str] = (),
) -> list[tuple[_Block, int]]:
    """Headings inside ``section`` that start a unit, each with its end line."""
    inner = [h for h in headings if section.line < h.line <= section.end_line]
    skipped = tuple(skip)
    chosen = [h for h in inner if not any(s in _plain(h.text).lower() for s in skipped)]
    if not chosen:
        return []
    level = min(h.level for h in chosen)
    units = [h for h in chosen if h.level == level]
    out = []
    for h in units:
        after = [x for x in inner if x.line > h.line and x.level <= h.level]
        end = after[0].line - 1 if after else section.end_line
        out.append((h, end))
    return out


def _checks(
    blocks: Sequence[_Block],
    headings: Sequence[_Block],
    sections: Sequence[ParsedSection],
    last_line: int,
) -> list[ParsedStep]:
    out: list[ParsedStep] = []
    for section in (s for s in sections if s.key == "verification"):
        units = _sub_units(blocks, headings, section)
        if not units:
            # No sub-headings: every command block of the section is one check.
            for b in _in(blocks, section.line + 1, section.end_line):
                if b.kind == "fence" and _is_command_fence(b):
                    unit = _Unit(len(out) + 1, "Check", b.line, b.end)
                    unit.verification.append(_command_block(b))
                    out.append(unit.freeze())
            continue
        for h, end in units:
            title = re.sub(r"^check\s*\d*\s*[:.\-–—]?\s*", "", _plain(h.text), flags=re.I)
            unit = _Unit(len(out) + 1, title or _plain(h.text), h.line, end)
            unit = _read_unit(unit, _in(blocks, h.line + 1, end), default_label="verification")
            if not unit.verification:
                # A check's command block often follows its **Purpose**: it is still the check.
                unit.verification, unit.commands = unit.commands, []
            out.append(unit.freeze())
    return out


def _rollback(
    blocks: Sequence[_Block],
    headings: Sequence[_Block],
    sections: Sequence[ParsedSection],
    last_line: int,
) -> tuple[list[ParsedStep], list[str], str]:
    steps: list[ParsedStep] = []
    when: list[str] = []
    provenance = ""
    for section in (s for s in sections if s.key == "rollback"):
        label: str | None = None
        inner = _in(blocks, section.line + 1, section.end_line)
        for b in inner:
            if b.kind == "heading":
                break
            if b.kind != "text":
                continue
            found = _label(b.text)
            if found is not None:
                label = found[0]
                if label == "provenance":
                    provenance = found[1]
                continue
            if label == "when" and b.in_list and b.item_start:
                when.append(b.text.strip())
        inner_headings = [h for h in headings if section.line < h.line <= section.end_line]
        step_heads = [h for h in inner_headings if _STEP_HEADING.match(_plain(h.text))]
        if step_heads:
            level = min(h.level for h in step_heads)
            step_heads = [h for h in step_heads if h.level == level]
            for k, h in enumerate(step_heads):
                after = [x for x in inner_headings if x.line > h.line and x.level <= h.level]
                end = after[0].line - 1 if after else section.end_line
                m = _STEP_HEADING.match(_plain(h.text))
                number = int((m.group(1) or m.group(3)) if m else k + 1)
                title = ((m.group(2) or m.group(4)) if m else "") or _plain(h.text)
                unit = _Unit(number, title.strip(), h.line, end)
                steps.append(
                    _read_unit(unit, _in(blocks, h.line + 1, end), default_label=None).freeze()
                )
        else:
            fences = [b for b in inner if b.kind == "fence" and _is_command_fence(b)]
            if fences:
                unit = _Unit(1, "Rollback", section.line, section.end_line)
                steps.append(_read_unit(unit, inner, default_label=None).freeze())
    return steps, when, provenance


def _issues(
    blocks: Sequence[_Block],
    headings: Sequence[_Block],
    sections: Sequence[ParsedSection],
    last_line: int,
) -> list[ParsedIssue]:
    out: list[ParsedIssue] = []
    for section in (s for s in sections if s.key == "troubleshooting"):
        for h, end in _sub_units(blocks, headings, section):
            title = _plain(h.text)
            if re.match(r"^other (?:failures|issues)", title, re.I):
                out.extend(_issue_list(_in(blocks, h.line + 1, end)))
                continue
            title = re.sub(r"^(?:issue|problem)\s*\d*\s*[:.\-–—]?\s*", "", title, flags=re.I)
            out.append(_issue(title or _plain(h.text), h.line, _in(blocks, h.line + 1, end)))
    return out


def _issue(title: str, line: int, blocks: Sequence[_Block]) -> ParsedIssue:
    label: str | None = None
    signature = ""
    symptoms: list[str] = []
    cause: list[str] = []
    solution: list[ParsedCommand] = []
    solution_text: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            label = _heading_label(b.text)
            continue
        if b.kind == "fence":
            if label in ("symptoms", "signature"):
                symptoms.extend(x for x in b.text.split("\n") if x.strip())
            elif _is_command_fence(b):
                solution.append(_command_block(b))
            continue
        if b.kind != "text" or not b.text.strip():
            continue
        found = None if b.in_list else _label(b.text)
        if found is not None:
            label, value = found
            if label == "signature":
                signature = _unticked(value)
            elif label == "symptoms" and value:
                symptoms.append(_unticked(value))
            elif label == "cause" and value:
                cause.append(value)
            elif label == "solution" and value:
                solution_text.append(value)
            continue
        if label == "symptoms":
            symptoms.append(_unticked(b.text.strip()))
        elif label == "cause":
            cause.append(b.text.strip())
        elif label == "solution":
            solution_text.append(b.text.strip())
    return ParsedIssue(
        title=title,
        line=line,
        signature=signature,
        symptoms=tuple(s for s in symptoms if s),
        cause=" ".join(cause).strip(),
        solution=tuple(solution),
        solution_text=tuple(solution_text),
    )


def _issue_list(blocks: Sequence[_Block]) -> list[ParsedIssue]:
    """``- **Issue 9: title** — `signature`; fix: ...`` lines of the generated compact list."""
    out = []
    for b in blocks:
        if b.kind != "text" or not b.item_start:
            continue
        bold = re.search(r"\*\*(.+?)\*\*", b.text)
        title = bold.group(1) if bold else b.text
        title = re.sub(r"^(?:issue|problem)\s*\d*\s*[:.\-–—]?\s*", "", title, flags=re.I)
        code = _CODE_SPAN.search(b.text)
        signature = code.group(2).strip() if code else ""
        out.append(ParsedIssue(title=title, line=b.line, signature=signature, symptoms=(title,)))
    return out


def _unticked(text: str) -> str:
    text = text.strip()
    m = re.fullmatch(r"(`+)\s?(.*?)\s?\1", text)
    return m.group(2) if m else text.strip("`")


def _explained(
    blocks: Sequence[_Block], sections: Sequence[ParsedSection], steps: Sequence[ParsedStep]
) -> tuple[tuple[str, int], ...]:
    """Every ``{name}`` the text explains: Parameters lists/sections, ``{x} — ...`` lines."""
    found: dict[str, int] = {}
    param_sections = [s for s in sections if s.key == "parameters"]
    definition = re.compile(
        r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\|\s*)?[`*_]*\{([a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*)\}[`*_]*"
        r"\s*(?:[:=|]|—|–|-\s|is\b|means\b|:?\s+the\b)"
    )
    where = re.compile(
        r"\bwhere\s+`?\{([a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*)\}`?\s+(?:is|=|means)\b", re.I
    )
    for b in blocks:
        if b.kind not in ("text", "row"):
            continue
        in_params = any(s.line <= b.line <= s.end_line for s in param_sections)
        names: set[str] = set()
        if in_params:
            names |= {m.group(1) for m in PLACEHOLDER.finditer(b.text)}
        m = definition.match(b.text)
        if m:
            names.add(m.group(1))
        names |= {w.group(1) for w in where.finditer(b.text)}
        for name in names:
            found.setdefault(name, b.line)
    for step in steps:
        for name in step.parameters:
            found.setdefault(name, step.line)
    return tuple(sorted(found.items()))


# ------------------------------------------------------------------ operation type

_TYPE_WORDS: tuple[tuple[OperationType, str], ...] = (
    (OperationType.INCIDENT, r"incident|outage|on-?call|pager|alert response|sev[0-9]"),
    (OperationType.ROLLBACK, r"roll\s?-?back|rolling\s+back|revert|back\s?-?out"),
    (OperationType.MIGRATION, r"migrat|schema change|upgrade"),
    (OperationType.SCALING, r"scal(?:e|ing)|capacity|replica|autoscal"),
    (OperationType.DEPLOYMENT, r"deploy|release|ship|rollout|roll out|publish"),
)


def operation_from_text(title: str) -> tuple[OperationType, str]:
    """Operation type and scope of a title: ``Runbook: Deployment - lambda`` -> (deployment, lambda)."""
    text = re.sub(r"^\s*(?:runbook|playbook)\s*[:\-–—]\s*", "", _plain(title), flags=re.I)
    head, scope = text, ""
    parts = re.split(r"\s+[-–—:]\s+|:\s+", text, maxsplit=1)
    if len(parts) == 2:
        head, scope = parts[0], parts[1]
    for words in (head, text):
        low = words.lower()
        for op, pattern in _TYPE_WORDS:
            if re.search(rf"\b(?:{pattern})", low):
                if not scope and words is text:
                    scope = re.sub(rf"\b(?:{pattern})\w*\b", "", low).strip(" -–—:")
                    scope = re.sub(r"\b(?:the|a|an|to|of|for|runbook|procedure)\b", "", scope)
                    scope = " ".join(scope.split())
                return op, scope.strip()
    return OperationType.NONE, scope.strip()

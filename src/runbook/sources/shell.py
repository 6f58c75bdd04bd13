"""Split shell scripts and terminal transcripts into logical commands with their line offsets.

Sample inputs: a script line ``aws lambda wait function-updated \\`` followed by
``  --function-name report_worker``, and a transcript line ``deploy@ci-3:~/app$ make test``
followed by its output. ``>>>`` lines are Python, never shell.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShellLine:
    """One logical command: 0-based line offset in the text, the command, its output."""

    offset: int
    command: str
    output: str = ""
    cwd: str | None = None  # from a ``user@host:~/dir$`` prompt, when shown
    prompted: bool = False  # True when the command came from a prompt line
    clock: str | None = None  # "[10:03:40] user@host:~$ cmd": the time a timed PS1 printed


# "$ cmd", "(venv) $ cmd", "user@host:~/app$ cmd", "root@host:/# cmd", "user@mac ~ % cmd",
# "user@host:~/app (main)$ cmd" (a git branch shown after the directory)
_USER_PROMPT = re.compile(
    r"^\s*(?:\[(?P<clock>[^\]\n]{0,80})\]\s*)?(?:\([\w.\- ]+\)\s*)?[\w.\-]+@[\w.\-]+(?:[: ](?P<cwd>[^$#%\s]{0,200}))?(?:\s?\([^()\s$#%]{1,80}\))?\s?[$#%]\s?(?P<cmd>.*)$"
)
# "[14:52:30] $ cmd" and "14:52:30 $ cmd": a clock printed before the prompt (timed PS1 / pasted log)
_DOLLAR_PROMPT = re.compile(
    r"^\s*(?:\([\w.\- ]+\)\s*)?"
    r"(?:\[(?P<clock>[^\]\n]{0,80})\]\s*|(?P<bare>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s+)?"
    r"[$❯»]\s(?P<cmd>.*)$"
)
_PS_PROMPT = re.compile(r"^\s*PS(?: [^>\n]{0,200})?>\s?(?P<cmd>.*)$")
_ROOT_PROMPT = re.compile(r"^\s*#\s(?P<cmd>.*)$")
# Claude Code's terminal transcript: "⏺ Bash(kubectl get pods)" then "  ⎿  output" lines;
# "⏺ Read(...)" and other tool calls end the previous command's output
_AGENT_CALL = re.compile(r"^\s*[●⏺]\s*(?P<tool>[A-Za-z][\w ]{0,30}?)\((?P<cmd>.*)$")
_AGENT_OUTPUT = re.compile(r"^(\s*)⎿")
_AGENT_MARK = re.compile(r"^\s*[●⏺]\s")
_ROOT_SHELL = re.compile(r"^\s*(?:sudo\s+(?:-i|-s|su\b|-u\s+root\s+-i)|su\b)")
_PS2 = re.compile(r"^\s*>\s?")
# `<<EOF`, `<<-EOF`, `<< 'EOF'` (not a `<<<` here-string): group 1 "-", 2 the quote, 3 the word
HEREDOC = re.compile(r"(?<!<)<<(-?)\s*(['\"]?)([A-Za-z_][\w-]*)\2")
_OPENERS = re.compile(r"(?:^|[;&|(]\s*|\b(?:then|do|else)\s+)(if|for|while|until|case|select)\b")
_CLOSERS = re.compile(r"(?:^|[;&|]\s*|\s)(fi|done|esac)\b(?=\s*(?:[;&|)]|$))")
# Words that begin English prose, not a command: a "# ..." line starting with one is a
# comment, not a root prompt; a backticked note starting with one is not a command (common).
PROSE_WORDS = frozenset(
    [
        "use",
        "no",
        "not",
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "we",
        "i",
        "you",
        "they",
        "now",
        "then",
        "next",
        "first",
        "second",
        "finally",
        "check",
        "verify",
        "wait",
        "note",
        "todo",
        "fixme",
        "step",
        "should",
        "expected",
        "output",
        "result",
        "results",
        "see",
        "also",
        "after",
        "before",
        "here",
        "there",
        "if",
        "when",
        "why",
        "what",
        "how",
        "because",
        "and",
        "or",
        "but",
        "so",
        "to",
        "from",
        "for",
        "with",
        "on",
        "in",
        "of",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "must",
        "rollback",
        "deploy",
        "deploying",
        "deployed",
        "run",
        "running",
        "ran",
        "make",
        "sure",
        "ensure",
        "confirm",
        "try",
        "tried",
        "looks",
        "seems",
        "works",
        "worked",
        "failed",
        "fails",
        "error",
        "warning",
        "ok",
        "done",
    ]
)
_COMMAND_WORD = re.compile(r"^[A-Za-z0-9_./~${}\-]++(?:=\S*)?$")


_SPECIAL = re.compile(r"[\\'\"#]")
_DQ_SPECIAL = re.compile(r'[\\"]')
_PROMPT_CHARS = re.compile(r"[$#%>❯»●⏺]")


def _scan(line: str, quote: str | None) -> tuple[str | None, int | None]:
    """Quote state after ``line`` given the state before it, and where a comment starts."""
    i = 0
    while True:
        if quote == "'":
            j = line.find("'", i)
            if j < 0:
                return quote, None
            quote, i = None, j + 1
            continue
        if quote == '"':
            m = _DQ_SPECIAL.search(line, i)
            if m is None:
                return quote, None
            if m.group() == "\\":
                i = m.end() + 1
            else:
                quote, i = None, m.end()
            continue
        m = _SPECIAL.search(line, i)
        if m is None:
            return None, None
        ch, j = m.group(), m.start()
        if ch == "\\":
            i = j + 2
        elif ch in "'\"":
            quote, i = ch, j + 1
        elif j == 0 or line[j - 1] in " \t;&|(":
            return None, j
        else:
            i = j + 1


def _strip_comment(line: str, quote: str | None) -> str:
    _, at = _scan(line, quote)
    return line if at is None else line[:at].rstrip()


def _continues(line: str) -> bool:
    """True when an unquoted line asks for the next one (``\\``, trailing pipe or ``&&``)."""
    stripped = line.rstrip()
    trailing = len(stripped) - len(stripped.rstrip("\\"))
    if trailing % 2 == 1:
        return True
    return stripped.endswith(("|", "&&", "||")) and not stripped.endswith("||>")


def _depth_change(line: str) -> int:
    code = re.sub(r"'[^']*'|\"(?:\\.|[^\"\\])*\"", "''", _strip_comment(line, None))
    delta = len(_OPENERS.findall(code)) - len(_CLOSERS.findall(code))
    stripped = code.strip()
    if stripped.endswith("{") and re.search(r"(?:\(\)|^function\s+\S+)\s*\{$", stripped):
        delta += 1
    if stripped == "}" or stripped.startswith("} "):
        delta -= 1
    return delta


def _looks_like_command(text: str) -> bool:
    """Whether the text after a ``# `` prompt reads as a command rather than a prose comment."""
    words = text.split()
    if not words:
        return False
    first = words[0]
    if first.lower() in PROSE_WORDS or (first[0].isupper() and not first.isupper()):
        return False
    if first.endswith((":", ".", ",")) or not _COMMAND_WORD.match(first):
        return False
    return not (len(words) > 6 and not any(w.startswith("-") or "/" in w for w in words))


def _prompt(line: str, root_prompts: bool) -> tuple[str, str | None] | None:
    """(command, cwd) when ``line`` is a prompt line."""
    if not _PROMPT_CHARS.search(line) or line.lstrip().startswith(">>>"):
        return None
    if m := _AGENT_CALL.match(line):
        if m.group("tool").strip().lower() not in ("bash", "shell", "run", "terminal"):
            return _NOT_SHELL
        return m.group("cmd"), None
    if _AGENT_MARK.match(line):
        return _NOT_SHELL  # the agent's narration ends the previous output
    if m := _USER_PROMPT.match(line):
        return m.group("cmd"), m.group("cwd") or None
    if m := _DOLLAR_PROMPT.match(line):
        return m.group("cmd"), None
    if m := _PS_PROMPT.match(line):
        return m.group("cmd"), None
    if root_prompts and (m := _ROOT_PROMPT.match(line)) and _looks_like_command(m.group("cmd")):
        return m.group("cmd"), None
    return None


_NOT_SHELL = ("", None)  # a prompt-like line that starts no shell command (another tool's call)


def _agent_call(lines: list[str], i: int, first: str) -> tuple[str, int]:
    """The command inside ``Bash(...)``, which may wrap over lines; the next index."""
    parts = [first]
    j = i + 1
    while not parts[-1].rstrip().endswith(")") and j < len(lines) and j - i < 50:
        if _AGENT_OUTPUT.match(lines[j]) or _AGENT_CALL.match(lines[j]):
            break
        parts.append(lines[j].strip())
        j += 1
    text = " ".join(p.strip() for p in parts).strip()
    if text.endswith(")"):
        text = text[:-1].rstrip()
    return text, j


def is_transcript(text: str) -> bool:
    """True when some line carries an unambiguous shell prompt (``$ ``, ``user@host:~$``, ``PS>``)."""
    return any(_prompt(line, False) is not None for line in text.split("\n"))


def _gather(lines: list[str], i: int, first: str, ps2: bool) -> tuple[str, int]:
    """Join the logical command starting at ``lines[i]`` (text ``first``); return it and the next index."""
    parts: list[str] = []
    current = first
    quote: str | None = None
    depth = 0
    heredocs: list[tuple[bool, str]] = []
    j = i
    while True:
        state, _ = _scan(current, quote)
        code = current if quote else _strip_comment(current, None)
        if quote is None:
            heredocs.extend((m.group(1) == "-", m.group(3)) for m in HEREDOC.finditer(code))
            depth = max(depth + _depth_change(current), 0)
        joined_cont = state is None and _continues(code)
        if joined_cont:
            code = code.rstrip()
            code = code[:-1].rstrip() if code.endswith("\\") else code
        if quote is not None:
            parts.append("\n" + current)
        elif parts and not parts[-1].endswith("\n"):
            parts.append(" " + code.strip())
        else:
            parts.append(code.strip() if not parts else code)
        quote = state
        j += 1
        # heredoc bodies stay attached to their command, delimiter included
        while heredocs and j < len(lines):
            strip_tabs, delim = heredocs[0]
            body = lines[j]
            parts.append("\n" + body)
            j += 1
            if (body.lstrip("\t") if strip_tabs else body).strip() == delim:
                heredocs.pop(0)
        heredocs.clear()
        if j >= len(lines) or j - i > 400:
            break
        if quote is None and depth == 0 and not joined_cont:
            break
        nxt = lines[j]
        if ps2:
            nxt = _PS2.sub("", nxt, count=1)
        if quote is None and not nxt.strip() and depth == 0:
            break
        current = nxt
        if quote is None and depth > 0:
            parts.append("\n")
    text = "".join(parts).strip()
    text = re.sub(r"\n{2,}", "\n", text)
    return text, j


def split_script(text: str, *, transcript: bool | None = None) -> list[ShellLine]:
    """Logical commands of a script or transcript; ``transcript=None`` detects prompts."""
    lines = text.split("\n")
    if transcript is None:
        transcript = is_transcript(text)
    out: list[ShellLine] = []
    if not transcript:
        i = 0
        while i < len(lines):
            stripped = lines[i].strip()
            if not stripped or stripped.startswith("#"):
                i += 1
                continue
            command, j = _gather(lines, i, lines[i], False)
            if command and _balanced_enough(command):
                out.append(ShellLine(i, command))
                i = j
            else:
                # an unclosed quote would swallow the rest: keep this line alone
                alone = _strip_comment(lines[i], None).strip()
                if alone:
                    out.append(ShellLine(i, alone))
                i += 1
        return out
    # a bare "# " line is a root prompt only where no other prompt style is in use (or after
    # "sudo -i"); next to "user@host$" prompts it is output, e.g. a file's first line under cat
    roots = not any(_prompt(line, False) is not None for line in lines)
    i = 0
    while i < len(lines):
        found = _prompt(lines[i], roots)
        if found is None:
            i += 1
            continue
        cmd, cwd = found
        if not cmd.strip():
            i += 1
            continue
        agent = _AGENT_CALL.match(lines[i]) is not None
        if agent:
            command, j = _agent_call(lines, i, cmd)
        else:
            command, j = _gather(lines, i, cmd, True)
            if not _balanced_enough(command):
                command, j = _strip_comment(cmd, None).strip(), i + 1
        roots = roots or _ROOT_SHELL.match(command) is not None
        output: list[str] = []
        while j < len(lines) and _prompt(lines[j], roots) is None:
            # "⎿" becomes a blank so the output keeps its columns, then is dedented
            output.append(_AGENT_OUTPUT.sub(r"\1 ", lines[j], count=1) if agent else lines[j])
            j += 1
        if agent:
            output = textwrap.dedent("\n".join(output)).split("\n")
        if command:
            clock = _clock(lines[i])
            out.append(ShellLine(i, command, "\n".join(output).strip("\n"), cwd, True, clock))
        i = j
    return out


def _clock(line: str) -> str | None:
    """The ``[10:03:40]`` a timed prompt printed before ``user@host:~$``/``$``, if any."""
    m = _USER_PROMPT.match(line) or _DOLLAR_PROMPT.match(line)
    if m is None:
        return None
    groups = m.groupdict()
    clock: str = (groups.get("clock") or groups.get("bare") or "").strip()
    if not clock:
        return None
    return clock if any(ch.isdigit() for ch in clock) and ":" in clock else None


def _balanced_enough(command: str) -> bool:
    """False when the command ends inside an open quote (a stray apostrophe in prose)."""
    quote: str | None = None
    for line in command.split("\n"):
        quote, _ = _scan(line, quote)
    return quote is None

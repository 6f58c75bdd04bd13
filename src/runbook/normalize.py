"""Command normalization: a command line becomes a template key plus named parameters.

Sample input line this module is built for:
    ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker \\
      --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/report:sha-3f9c2e1
which becomes the key
    ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker --image-uri {image-uri}
with program "aws" and subcommand "lambda update-function-code".

Pipeline (Drain3-style: masking is data, applied before any mining):
1. line continuations are joined and secrets redacted (``redact.redact``) before anything else;
2. the text is split into shell words by a small POSIX-shell lexer. ``shlex`` is not enough
   here: it splits ``$(...)`` at the parentheses, starts comments in the middle of a word
   (``a#b``) and cannot tell a quoted ``"|"`` from a pipe. Unbalanced quotes fall back to a
   tolerant whitespace split, so this never raises;
3. ``MASKS`` (an ordered tuple of ``MaskRule(kind, pattern)``) replace varying values inside
   each word: digests, SHAs, UUIDs, ARNs, account ids, ECR hosts, IPs, generated host/pod
   names, versions, timestamps, dates, temp paths, long numbers. Only values matching a rule
   are masked: plain words (function names, namespaces, buckets) stay literal, and so do
   numbers under four digits (``--replicas 3``). Deciding that some other token varies
   between runs is the miner's job;
4. a masked value is named after its flag or key when it has one (``--image-uri X`` ->
   ``{image-uri}``, ``image.tag=v1.2.3`` -> ``image.tag={image-tag}``), else after the rule
   (``{commit-sha}``); image refs keep their repository (``app:{image-tag}``) and paths that
   embed a date become ``{path}``.

``program`` is the command's executable as written after env assignments and wrappers
(``sudo``, ``env``, ``time``, ``doppler run --``, ``aws-vault exec P --``, ``npx``,
``poetry run``, ``python -m``...). A path is kept as written (``./scripts/deploy.sh``: the
path identifies the script) except that directories named ``bin``/``sbin`` are dropped
(``/usr/local/bin/aws`` -> ``aws``); use ``program_name`` for the bare basename. For a
pipeline or chain, program and subcommand describe the first meaningful command (not ``cd``,
``export``, ``echo``, ``sleep``, ``cat <<EOF |``...).

Each ``Token`` keeps its original (redacted, unquoted) ``text``, the first placeholder name as
``slot`` (None for literals) and its ``template`` as it appears in the key (canonical quoting,
``{placeholders}``): ``" ".join(t.template for t in tokens) == key``; ``slot_values`` reads the
value behind each placeholder back out of a token. Keys use canonical quoting so ``"a b"`` and
``'a b'`` group together, but each token also keeps its ``spelling`` as written: ``shell_word``
rebuilds display text from it, so a command shown in a runbook runs exactly as recorded
(``--paths '/*'`` stays quoted; a glob that lost its quotes in one recording is quoted again).

``error_signature`` applies the same masks to an error message, plus durations, line numbers,
hex, request ids and any standalone number (but not status/exit/error codes), after stripping
timestamps, log levels and decorations, so the same error in different runs gets one signature.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from runbook.model import CommandTemplate, Token
from runbook.redact import redact

__all__ = [
    "MASKS",
    "MaskRule",
    "error_signature",
    "flag_takes_value",
    "join_continuations",
    "join_words",
    "normalize",
    "program_name",
    "quote_contexts",
    "quote_word",
    "resolve_program",
    "secret_wrapper",
    "shell_word",
    "slot_values",
    "split_env",
    "unquoted_globs",
]


@dataclass(frozen=True, slots=True)
class MaskRule:
    """A masking rule: matches become ``{kind}``; named groups mask only their own span."""

    kind: str
    pattern: re.Pattern[str]


_HEX = "0-9a-fA-F"
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"


# Words after which a dotted quad is a four-part version (.NET / Windows build numbers such as
# ``--version 2.14.0.1``), not an IPv4 address: as the flag or key before a value, or just
# before it in running text.
_VERSION_WORDS = ("version", "ver", "release", "tag", "build", "revision", "rev")
_VERSION_KEY = re.compile(
    rf"-{{0,2}}(?:[\w.-]*[-_.])?(?:{'|'.join(_VERSION_WORDS)})|v", re.IGNORECASE
)
_NOT_AFTER_VERSION_WORD = "".join(
    f"(?<!{spelling}{sep})"
    for word in _VERSION_WORDS
    for spelling in (word, word.capitalize(), word.upper())
    for sep in (" ", "=", ":", ": ")
)
_VERSION_ONLY = frozenset({"ip"})  # the rules a version key turns off


def _m(kind: str, pattern: str, flags: int = 0) -> MaskRule:
    return MaskRule(kind, re.compile(pattern, flags))


MASKS: tuple[MaskRule, ...] = (
    _m("image-digest", rf"sha256:[{_HEX}]{{64}}(?![{_HEX}])"),
    _m("digest", rf"(?:sha1|sha384|sha512|md5):[{_HEX}]{{32,128}}(?![{_HEX}])"),
    _m("digest", rf"{_NOT_ALNUM_BEFORE}[0-9a-f]{{64}}(?:[0-9a-f]{{64}})?{_NOT_ALNUM_AFTER}"),
    # mktemp (/tmp/tmp.Ab3dE9xQ1z), Python tempfile (/tmp/tmpk2j4_x9q), macOS $TMPDIR, and any
    # /tmp entry carrying a digit (/tmp/plan-1234.out); the whole path is the value.
    _m(
        "temp-path",
        r"(?<![\w./-])(?:(?:/private)?/var/folders/[^\s\"'`]+"
        r"|/(?:var/)?tmp/(?:tmp(?:\.[A-Za-z0-9]{6,}|[a-z0-9_]{8})|[\w.-]*\d[\w.-]*)(?:/[^\s\"'`]*)?)",
    ),
    _m("arn", r"\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:[^\s\"',;]+"),
    _m(
        "ecr",
        r"(?P<account_id>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)"
        r"\.amazonaws\.com(?:\.cn)?",
    ),
    _m(
        "uuid",
        rf"{_NOT_ALNUM_BEFORE}[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
        rf"{_NOT_ALNUM_AFTER}",
    ),
    _m(
        "timestamp",
        r"(?<!\d)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[T_ -](?:[01]\d|2[0-3])[:.-]?[0-5]\d"
        r"(?:[:.-]?[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?!\d)",
    ),
    _m(
        "timestamp",
        r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[T_-]?(?:[01]\d|2[0-3])[0-5]\d"
        r"(?:[0-5]\d)?Z?(?!\d)",
    ),
    # C asctime / `date` / Helm's "LAST DEPLOYED: Thu Oct  2 09:45:58 2025"
    _m(
        "timestamp",
        r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
        r" [ \d]?\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?: [A-Z]{2,5})? (?:19|20)\d{2}\b",
    ),
    _m(
        "date",
        r"(?<!\d)(?:19|20)\d{2}([-/.]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])(?!\d)",
    ),
    _m("time", r"(?<![\d:])(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d+)?(?![\d:])"),
    # Octets <= 255, and not right after a version word: "Version: 10.0.19045.1" is a build
    # number (a flag or key before the word is looked at by _template_word).
    _m(
        "ip",
        rf"(?<![\w.]){_NOT_AFTER_VERSION_WORD}"
        r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\w|\.\d)",
    ),
    _m(
        "ip",
        rf"(?<![\w:.])(?=[{_HEX}:]*\d)(?:(?:[{_HEX}]{{1,4}}:){{7}}[{_HEX}]{{1,4}}"
        rf"|(?:[{_HEX}]{{1,4}}:){{1,6}}(?::[{_HEX}]{{1,4}}){{1,6}}"
        rf"|(?:[{_HEX}]{{1,4}}:){{1,7}}:|::(?:[{_HEX}]{{1,4}}(?::[{_HEX}]{{1,4}}){{0,6}})?)(?![\w:])",
    ),
    # EC2 host names embed the address: ip-10-0-1-23.ec2.internal, ec2-54-1-2-3.compute-1...
    _m(
        "host",
        r"(?<![\w-])(?:ip|ec2)-\d{1,3}(?:-\d{1,3}){3}(?:\.[a-z0-9-]+)*(?![\w-])",
    ),
    _m("instance-id", r"(?<![\w-])i-[0-9a-f]{8}(?:[0-9a-f]{9})?(?![\w-])"),
    _m(
        "resource-id",
        r"(?<![\w-])(?:sg|subnet|vpc|ami|vol|snap|eni|igw|nat|rtb|eipalloc|lt|tgw|vpce|acl)"
        r"-[0-9a-f]{8}(?:[0-9a-f]{9})?(?![\w-])",
    ),
    # Kubernetes pod / generated host names: <name>-<replicaset hash with a digit>-<5 chars>.
    _m(
        "host",
        r"(?<![\w.-])[a-z0-9](?:[a-z0-9-]{0,50}[a-z0-9])?-(?=[a-z]{0,9}\d)[a-z0-9]{6,10}-[a-z0-9]{5}"
        r"(?:\.[a-z0-9-]+)+(?![\w-])",
    ),
    _m(
        "pod",
        r"(?<![\w.-])[a-z0-9](?:[a-z0-9-]{0,50}[a-z0-9])?-(?=[a-z]{0,9}\d)[a-z0-9]{6,10}-[a-z0-9]{5}"
        r"(?![A-Za-z0-9-])",
    ),
    # Git SHAs: 7-40 lowercase hex with at least one digit and one letter (so neither
    # "deadbeef" nor "1234567" is one).
    _m(
        "commit-sha",
        rf"{_NOT_ALNUM_BEFORE}(?=[0-9a-f]{{0,39}}[0-9])(?=[0-9a-f]{{0,39}}[a-f])[0-9a-f]{{7,40}}"
        rf"{_NOT_ALNUM_AFTER}",
    ),
    _m(
        "version",
        r"(?<![\w.])(?:v?\d+\.\d+\.\d+(?:\.\d+)?|v\d+\.\d+)"
        r"(?:-(?:rc|alpha|beta|pre|preview|dev|snapshot|SNAPSHOT|a|b)(?:[.-]?\d+)?|\+[0-9A-Za-z.]+)?"
        r"(?!\w|\.\w)",
    ),
    _m("account-id", r"(?<![0-9A-Za-z.])\d{12}(?![0-9A-Za-z])"),
    # CI run ids in URLs and parameters: .../actions/runs/7423901833, run_id=7423901833
    _m(
        "run-id",
        r"(?:(?<=runs/)|(?<=run/)|(?<=run-id=)|(?<=run_id=)|(?<=runId=))\d{4,}(?![A-Za-z0-9])",
    ),
    # Ports after a colon (db:5432, 8080:80) are configuration, not run-specific values.
    _m("number", r"(?<![A-Za-z0-9.:])\d{4,}(?![A-Za-z0-9]|[.:]\d)"),
)

# A value that stands alone as a version only when it is the whole value of a key or flag
# (TAG=v3); inside words "v1" is usually an API path (apps/v1).
_V_ONLY = re.compile(r"v\d+")
# Our own placeholders (and redaction markers) are never masked again: this is what makes
# normalize(key) == key.
_PLACEHOLDER = re.compile(r"\{(?:redacted:)?[a-z][a-z0-9-]*\}")
_SLOT_WORD = re.compile(r"\{([a-z][a-z0-9-]*)\}")
_FLAG_EQ = re.compile(r"(--?[A-Za-z][\w.-]*)=(.*)", re.DOTALL)
_KEY_EQ = re.compile(r"([A-Za-z_][\w.-]*)=(.*)", re.DOTALL)
_KV_LIST = re.compile(r"[A-Za-z_][\w.-]*=[^,]*(?:,[A-Za-z_][\w.-]*=[^,]*)+")
# NAME=value, and PowerShell's $env:NAME=value
_ENV_ASSIGN = re.compile(r"(?:\$env:)?[A-Za-z_][A-Za-z0-9_]*=")
_IMAGE_REF = re.compile(
    r"(?P<repo>(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[0-9a-fA-F]{32,}))?"
)
_RUN_WORDS = frozenset({"run", "runs"})
# Characters that make a value an expression rather than one value: brackets, braces,
# parentheses, quotes, white space (JMESPath filters, jq programs, JSON documents).
_EXPRESSION = re.compile(r"[\[\]{}()'\"\s]")
_NO_DIGIT_HINTS = ("arn:", "/var/folders/", "/tmp/")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s")
_SPACE_RUN = re.compile(r"\s+")  # runs collapse; a quoted value keeps its edge spaces

# ----------------------------------------------------------------------------- lexer


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Longest first: the lexer takes the first operator the text starts with.
_OPERATORS = tuple(
    sorted(
        _words("&>> <<< <<- && || |& ;; >> << >& <& &> >| <> | & ; < > ( )"),
        key=lambda o: (-len(o), o),
    )
)
_SEPARATORS = frozenset({"|", "||", "|&", "&&", ";", ";;", "&", "(", ")"})
_OP_START = frozenset(op[0] for op in _OPERATORS)
# A run of characters with no meaning to the shell, consumed at once.
_PLAIN = re.compile(r"[^\s'\"\\$`|&;<>()]+")


# A heredoc body's spelling starts with the line break before it (no other word's can).
HEREDOC_MARK = "\n"


def join_words(words: Sequence[str]) -> str:
    """Display words joined by spaces, except around line breaks (heredoc bodies)."""
    out: list[str] = []
    for word in words:
        if out and not word.startswith("\n") and not out[-1].endswith("\n"):
            out.append(" ")
        out.append(word)
    return "".join(out)


class _Unbalanced(Exception):
    """An unclosed quote: the caller falls back to a whitespace split."""


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    op: bool = False
    spelling: str = ""  # the word as written (quotes and escapes kept); "" when unknown


def _balanced(text: str, i: int) -> int:
    """Index just past the bracket group opening at ``text[i]`` (or len(text))."""
    opening = text[i]
    closing = ")" if opening == "(" else "}"
    depth = 0
    j = i
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c in "'\"":
            end = text.find(c, j + 1)
            if end < 0:
                return n
            j = end + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return n


def _lex(text: str) -> list[_Word]:
    """Split ``text`` into shell words and operators (raises _Unbalanced on open quotes)."""
    words: list[_Word] = []
    buf: list[str] = []
    in_word = False
    heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) waiting for a newline
    want_delim: bool | None = None  # set after << / <<-: the next word is the delimiter
    i = 0
    n = len(text)
    start = 0  # where the current word's spelling begins

    def flush(end: int) -> None:
        nonlocal in_word, want_delim
        if in_word:
            word = "".join(buf)
            words.append(_Word(word, spelling=text[start:end]))
            if want_delim is not None:
                heredocs.append((word, want_delim))
                want_delim = None
        buf.clear()
        in_word = False

    while i < n:
        c = text[i]
        if not in_word:
            start = i
        if c in " \t\r\f\v":
            flush(i)
            i += 1
        elif c == "\n":
            flush(i)
            i += 1
            bodies = bool(heredocs)
            while heredocs:
                delim, strip = heredocs.pop(0)
                body: list[str] = []
                closing = ""
                while i < n:
                    end = text.find("\n", i)
                    line = text[i:] if end < 0 else text[i:end]
                    i = n if end < 0 else end + 1
                    if (line.lstrip("\t") if strip else line).rstrip("\r") == delim:
                        closing = "\n" + line
                        break
                    body.append(line)
                # The spelling is the body as recorded, from the newline that starts it to
                # its closing line: display shows it there, not as one quoted word.
                content = "\n".join(body)
                words.append(_Word(content, spelling=HEREDOC_MARK + content + closing))
            # after a heredoc the line break must stay a line break (the delimiter line ends it)
            words.append(_Word(";", op=True, spelling="\n" if bodies else ""))
        elif c == "#" and not in_word:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c == "\\":
            if i + 1 < n and text[i + 1] != "\n":
                buf.append(text[i + 1])
            in_word = in_word or (i + 1 < n and text[i + 1] != "\n")
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _Unbalanced
            buf.append(text[i + 1 : end])
            in_word = True
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    if text[j + 1] != "\n":
                        buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise _Unbalanced
            in_word = True
            i = j + 1
        elif c == "$" and i + 1 < n and text[i + 1] in "({":
            end = _balanced(text, i + 1)
            buf.append(text[i:end])
            in_word = True
            i = end
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise _Unbalanced
            buf.append(text[i : end + 1])
            in_word = True
            i = end + 1
        elif c in _OP_START:
            op = next(o for o in _OPERATORS if text.startswith(o, i))
            op_at = i
            i += len(op)
            fd = "".join(buf) if in_word else ""
            if op[0] in "<>" and fd.isdigit():
                buf.clear()
                in_word = False
                op = fd + op
            else:
                flush(op_at)
            if op.endswith(("<&", ">&")):
                # 2>&1, >&-: the descriptor belongs to the operator
                m = re.match(r"\d+-?|-", text[i:])
                if m:
                    op += m.group(0)
                    i += m.end()
            words.append(_Word(op, op=True))
            if op.endswith(("<<", "<<-")):
                want_delim = op.endswith("-")
        else:
            plain = _PLAIN.match(text, i)
            chunk = plain.group(0) if plain else c
            buf.append(chunk)
            in_word = True
            i += len(chunk)
    flush(n)
    return words


def _split_tolerant(text: str) -> list[_Word]:
    """Fallback for unbalanced quotes: whitespace words, quote characters kept as text."""
    words = []
    for piece in text.split():
        words.append(_Word(piece, op=piece in _OPERATORS, spelling=piece))
    return words


def _tidy(words: list[_Word]) -> list[_Word]:
    """Collapse runs of newline/; separators and drop them at both ends."""
    out: list[_Word] = []
    for w in words:
        if w.op and w.text == ";" and (not out or (out[-1].op and out[-1].text == ";")):
            continue
        out.append(w)
    while out and out[-1].op and out[-1].text == ";":
        out.pop()
    return out


# --------------------------------------------------------------------------- quoting

_UNSAFE = re.compile(r"[\s'\"\\|&;<>()`]")


def quote_word(text: str) -> str:
    """Canonical shell quoting of one word: bare when safe, else double (or single) quotes."""
    text = _SPACE_RUN.sub(" ", text) if _SPACE.search(text) else text
    # a lone "$" is quoted so that a key never starts like a copied "$ " prompt
    if text and not _UNSAFE.search(text) and not text.startswith("#") and text != "$":
        return text
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- display
#
# Display text must run exactly as recorded: ``--paths '/*'`` shown as ``--paths /*`` would
# glob to every top-level directory. Each word is re-emitted from its spelling, character by
# character in the quoting it had: b bare, e backslash-escaped, s single-quoted, d double-quoted,
# x escaped inside double quotes, c command/parameter substitution ($(...), ${...}, `...`).

_GLOB_CHARS = frozenset("*?[")
# A bare glob an operator meant: a positional file pattern (rm -rf dist/*, ls logs/*.gz).
_FILE_GLOB = re.compile(r"[\w./~@%+,:*?{}-]+")
_ASSIGN_PREFIX = re.compile(r"(?:--?[A-Za-z][\w.-]*|[A-Za-z_][\w.-]*)=")
_SAFE_BARE = re.compile(r"[\w@%+=:,./-]*")


def quote_contexts(spelling: str) -> tuple[str, str] | None:
    """A spelled shell word's text and each character's quoting context (None: unbalanced)."""
    text: list[str] = []
    ctx: list[str] = []
    i = 0
    n = len(spelling)
    while i < n:
        c = spelling[i]
        if c == "\\":
            if i + 1 < n and spelling[i + 1] != "\n":
                text.append(spelling[i + 1])
                ctx.append("e")
            i += 2
        elif c == "'":
            end = spelling.find("'", i + 1)
            if end < 0:
                return None
            text.append(spelling[i + 1 : end])
            ctx.append("s" * (end - i - 1))
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and spelling[j] != '"':
                if spelling[j] == "\\" and j + 1 < n and spelling[j + 1] in '"\\$`\n':
                    if spelling[j + 1] != "\n":
                        text.append(spelling[j + 1])
                        ctx.append("x")
                    j += 2
                    continue
                text.append(spelling[j])
                ctx.append("d")
                j += 1
            if j >= n:
                return None
            i = j + 1
        elif c == "$" and i + 1 < n and spelling[i + 1] in "({":
            end = _balanced(spelling, i + 1)
            text.append(spelling[i:end])
            ctx.append("c" * (end - i))
            i = end
        elif c == "`":
            end = spelling.find("`", i + 1)
            if end < 0:
                return None
            text.append(spelling[i : end + 1])
            ctx.append("c" * (end + 1 - i))
            i = end + 1
        else:
            text.append(c)
            ctx.append("b")
            i += 1
    return "".join(text), "".join(ctx)


def _emit(text: str, ctx: str) -> str:
    """Spell ``text`` back with the quoting ``ctx`` gives each character."""
    if not text:
        return "''"
    out: list[str] = []
    i = 0
    while i < len(text):
        kind = ctx[i]
        j = i + 1
        if kind in "dx":
            while j < len(text) and ctx[j] in "dx":
                j += 1
            body = "".join("\\" + text[k] if ctx[k] == "x" else text[k] for k in range(i, j))
            out.append('"' + body + '"')
        else:
            while j < len(text) and ctx[j] == kind:
                j += 1
            chunk = text[i:j]
            if kind == "s":
                out.append("'" + chunk.replace("'", "'\"'\"'") + "'")
            elif kind == "e":
                out.append("".join("\\" + ch for ch in chunk))
            else:
                out.append(chunk)
        i = j
    return "".join(out)


def _hazards(text: str, ctx: str, placeholder: list[bool]) -> list[int]:
    """Positions of bare characters the shell would expand: globs, brace expansions."""
    found = [
        i for i, ch in enumerate(text) if ch in _GLOB_CHARS and ctx[i] == "b" and not placeholder[i]
    ]
    i = 0
    while i < len(text):
        if text[i] == "{" and ctx[i] == "b" and not placeholder[i]:
            end = text.find("}", i + 1)
            inner = text[i + 1 : end] if end > 0 else ""
            if (
                end > 0
                and all(c == "b" for c in ctx[i : end + 1])
                and ("," in inner or ".." in inner)
            ):
                found.append(i)
                i = end
        i += 1
    return sorted(found)


def _protect(text: str, ctx: str, hazards: list[int]) -> str:
    """Quote the bare runs holding ``hazards`` (double quotes when they expand ``$``)."""
    chars = list(ctx)
    for run_start, run_end in _bare_runs(ctx):
        if not any(run_start <= h < run_end for h in hazards):
            continue
        start = run_start
        if run_start == 0:
            # --paths=/*, KEY=x*, ~/dir/*: the flag, the name and the tilde stay bare
            prefix = _ASSIGN_PREFIX.match(text, 0, run_end)
            if prefix is not None and all(h >= prefix.end() for h in hazards):
                start = prefix.end()
            elif text.startswith("~"):
                slash = text.find("/", 0, run_end)
                if slash > 0 and all(h > slash for h in hazards):
                    start = slash + 1  # the slash ending the tilde prefix must stay bare
        kind = "d" if "$" in text[start:run_end] else "s"
        chars[start:run_end] = kind * (run_end - start)
    return "".join(chars)


def _bare_runs(ctx: str) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(ctx):
        if ctx[i] != "b":
            i += 1
            continue
        j = i
        while j < len(ctx) and ctx[j] == "b":
            j += 1
        runs.append((i, j))
        i = j
    return runs


def flag_takes_value(word: str) -> bool:
    """Whether the word after ``word`` is its value (``--paths X``, ``-name X``; not ``-rf``)."""
    return _flag_hint(_Word(word)) is not None


def shell_word(
    text: str,
    spelling: str = "",
    *,
    slots: tuple[tuple[int, int, str], ...] = (),
    after_flag: bool = False,
) -> str:
    """One word for display: quoted as ``spelling`` was, hazards quoted, ``slots`` replaced.

    ``text`` is the word as the shell received it; each ``(start, end, placeholder)`` of
    ``slots`` replaces ``text[start:end]`` inside the same quotes the value had (``'{x}'``).
    Bare glob or brace characters are quoted, unless the word is a positional file pattern
    (``rm -rf dist/*``, not after a flag that takes a value): the shell expanding them is
    what was recorded then. Without a spelling the word gets ``shlex.quote`` quoting.
    """
    if spelling.startswith(HEREDOC_MARK):
        # a heredoc body (or the line break after one) shows as recorded, values in place
        body = text
        for start, end, name in sorted(slots, reverse=True):
            if 0 <= start <= end <= len(text):
                body = body[:start] + name + body[end:]
        return spelling.replace(HEREDOC_MARK + text, HEREDOC_MARK + body, 1)
    parsed = quote_contexts(spelling) if spelling else None
    # A command with unbalanced quotes was split on white space: its words are shown
    # exactly as recorded (quote characters included), placeholders put in place.
    verbatim = bool(spelling) and spelling == text and (parsed is None or parsed[0] != text)
    if parsed is None or parsed[0] != text:
        if spelling and not slots and not verbatim and parsed is None:
            return spelling
        ctx = "b" * len(text)
    else:
        ctx = parsed[1]
    pieces: list[str] = []
    kinds: list[str] = []
    placeholder: list[bool] = []
    pos = 0
    for start, end, name in sorted(slots):
        if start < pos or end > len(text):
            continue
        pieces.append(text[pos:start])
        kinds.append(ctx[pos:start])
        around = ctx[start] if start < end else (ctx[start - 1] if start else "b")
        kind = {"e": "b", "x": "d", "c": "b"}.get(around, around)
        pieces.append(name)
        kinds.append(kind * len(name))
        placeholder.extend([False] * (start - pos) + [True] * len(name))
        pos = end
    pieces.append(text[pos:])
    kinds.append(ctx[pos:])
    placeholder.extend([False] * (len(text) - pos))
    out_text, out_ctx = "".join(pieces), "".join(kinds)
    if verbatim:
        return out_text
    if parsed is None or parsed[0] != text:
        plain = "".join(ch for ch, ph in zip(out_text, placeholder, strict=True) if not ph)
        if not out_text or not _SAFE_BARE.fullmatch(plain):
            out_ctx = "s" * len(out_text)
        return _emit(out_text, out_ctx)
    hazards = _hazards(out_text, out_ctx, placeholder)
    if hazards and (
        after_flag
        or "=" in out_text
        or "://" in out_text
        or any(out_text[h] == "[" for h in hazards)
        or not _FILE_GLOB.fullmatch(out_text)
    ):
        out_ctx = _protect(out_text, out_ctx, hazards)
    return _emit(out_text, out_ctx)


def unquoted_globs(word: str) -> int:
    """How many glob characters of a displayed word the shell would expand."""
    parsed = quote_contexts(word)
    if parsed is None:
        return 0
    text, ctx = parsed
    return sum(1 for ch, kind in zip(text, ctx, strict=True) if kind == "b" and ch in _GLOB_CHARS)


# --------------------------------------------------------------------------- masking

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _kebab(name: str) -> str:
    name = _CAMEL.sub("-", name.lstrip("-"))
    name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not name:
        return "value"
    return name if name[0].isalpha() else "v-" + name


def _group_name(group: str) -> str:
    return group.replace("_", "-")


def _mask_groups(m: re.Match[str]) -> str:
    """Replace each named group of the match by its placeholder, keep the rest."""
    whole = m.group(0)
    base = m.start(0)
    out: list[str] = []
    pos = 0
    spans = sorted((m.start(g), m.end(g), g) for g in m.re.groupindex if m.start(g) >= 0)
    for start, end, group in spans:
        out.append(whole[pos : start - base])
        out.append("{" + _group_name(group) + "}")
        pos = end - base
    out.append(whole[pos:])
    return "".join(out)


def _mask_piece(piece: str, skip: frozenset[str]) -> str:
    # Every rule needs a digit except ARNs and temp paths: skip plain words quickly.
    if not _DIGIT.search(piece) and not any(h in piece for h in _NO_DIGIT_HINTS):
        return piece
    for rule in MASKS:
        if rule.kind in skip:
            continue
        if rule.pattern.groupindex:
            piece = rule.pattern.sub(_mask_groups, piece)
        else:
            piece = rule.pattern.sub("{" + rule.kind + "}", piece)
    return piece


def _mask_inside(value: str, skip: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """Apply MASKS to the literal parts of ``value``; return the template and new slots."""
    out: list[str] = []
    slots: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(value):
        masked = _mask_piece(value[pos : m.start()], skip)
        out.append(masked)
        slots.extend(_SLOT_WORD.findall(masked))
        out.append(m.group(0))
        pos = m.end()
    masked = _mask_piece(value[pos:], skip)
    out.append(masked)
    slots.extend(_SLOT_WORD.findall(masked))
    return "".join(out), slots


def _image_ref(value: str) -> tuple[str, list[str]] | None:
    """``registry/repo:tag@digest`` with a varying tag -> ``registry/repo:{image-tag}``."""
    if "://" in value or (":" not in value and "@" not in value):
        return None
    m = _IMAGE_REF.fullmatch(value)
    if m is None or (m.group("tag") is None and m.group("digest") is None):
        return None
    tag = m.group("tag")
    if tag is not None and tag.isdigit() and "/" not in m.group("repo"):
        return None  # host:port
    repo, slots = _mask_inside(m.group("repo"))
    out = repo
    if tag is not None:
        _, tag_slots = _mask_inside(tag)
        if tag_slots:
            out += ":{image-tag}"
            slots.append("image-tag")
        else:
            out += ":" + tag
    if m.group("digest") is not None:
        out += "@{image-digest}"
        slots.append("image-digest")
    return (out, slots) if slots else None


def _looks_path(value: str) -> bool:
    return "/" in value and not value.startswith(("http://", "https://"))


def _template_value(
    value: str, name: str | None, skip: frozenset[str] = frozenset()
) -> tuple[str, list[str]]:
    """Template a flag/key value (``name`` from the flag or key) or a bare word; ``skip``: mask
    rules that do not apply here (a version key's value is no IP address)."""
    slot = _SLOT_WORD.fullmatch(value)
    if slot:
        return value, [slot.group(1)]
    if _KV_LIST.fullmatch(value):
        parts = [_template_word(p, None) for p in value.split(",")]
        return ",".join(t for t, _ in parts), [s for _, ss in parts for s in ss]
    if name is not None:
        kv = _KEY_EQ.fullmatch(value)
        if kv:
            inner, slots = _template_value(kv.group(2), _kebab(kv.group(1)), _key_skip(kv.group(1)))
            return kv.group(1) + "=" + inner, slots
        if _V_ONLY.fullmatch(value):
            return "{" + name + "}", [name]
    document = _json_numbers(value)
    if document is not None:
        return document
    templ, slots = _mask_inside(value, skip)
    if not (len(slots) == 1 and templ == "{" + slots[0] + "}"):
        image = _image_ref(value)
        if image is not None:
            templ, slots = image
    if not slots:
        return value, []
    # An expression (JMESPath, jq, JSON) keeps its structure: only the varying value inside
    # becomes a placeholder, so the quotes around it stay where the operator put them.
    expression = _EXPRESSION.search(value) is not None
    if name is not None and not expression:
        return "{" + name + "}", [name]
    if len(slots) == 1 and templ == "{" + slots[0] + "}":
        return templ, slots
    if not expression and _looks_path(value) and any(s in ("date", "timestamp") for s in slots):
        return "{path}", ["path"]
    return templ, slots


# A number that is the value of a key in a JSON document: ``"maxReplicas": 24``.
_JSON_NUMBER = re.compile(r'"([A-Za-z_][\w.-]*)"(\s*:\s*)(-?\d+(?:\.\d+)?)(?=\s*[,}\]])')


def _json_numbers(value: str) -> tuple[str, list[str]] | None:
    """A JSON object (``-p '{"spec":{"maxReplicas":24}}'``): each number named after its key.

    The document keeps its structure and keys; only its numbers become placeholders, which the
    miner shows literally when they are the same in every run. Strings inside it get the usual
    masks. None when ``value`` is not a JSON object or array.
    """
    if not value.startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if not isinstance(parsed, dict | list):
        return None
    slots: list[str] = []
    pieces: list[str] = []
    last = 0
    for m in _JSON_NUMBER.finditer(value):
        masked, inner = _mask_inside(value[last : m.start()])
        name = _kebab(m.group(1).rsplit(".", 1)[-1])
        pieces.extend((masked, f'"{m.group(1)}"{m.group(2)}{{{name}}}'))
        slots.extend((*inner, name))
        last = m.end()
    masked, inner = _mask_inside(value[last:])
    pieces.append(masked)
    slots.extend(inner)
    return "".join(pieces), slots


def _key_skip(key: str) -> frozenset[str]:
    return _VERSION_ONLY if _VERSION_KEY.fullmatch(key) else frozenset()


def _template_word(text: str, hint: str | None, before: str = "") -> tuple[str, list[str]]:
    """Template one shell word; ``hint`` is the long flag this word is the value of, ``before``
    the word before it (``--version``, ``-Version``, ``release``: a dotted quad is a version)."""
    m = _FLAG_EQ.fullmatch(text)
    if m and not text.startswith("---"):
        inner, slots = _template_value(m.group(2), _kebab(m.group(1)), _key_skip(m.group(1)))
        return m.group(1) + "=" + inner, slots
    if _KV_LIST.fullmatch(text):
        return _template_value(text, hint)  # Name=x,Value=y: each key names its value
    m = _KEY_EQ.fullmatch(text)
    if m:
        inner, slots = _template_value(m.group(2), _kebab(m.group(1)), _key_skip(m.group(1)))
        return m.group(1) + "=" + inner, slots
    return _template_value(text, hint, _key_skip(before) if before else frozenset())


# Long flags that take no value, so the next word is a positional argument.
_BOOL_FLAG = re.compile(
    r"--(?:no|skip|allow|enable|disable|with|without|show|force|include|exclude-all)-.*"
    r"|--.*-stdin|--(?:rm|all|wait|watch|follow|atomic|install|force|yes|quiet|verbose|debug|"
    r"recursive|exit-status|dry-run|help|version|insecure|detach|tty|interactive|privileged|"
    r"auto-approve|reuse-values|reset-values|create-namespace|cleanup-on-fail|overwrite|"
    r"prune|now|json|web|draft|squash|merge|rebase|delete-branch|no-wait|sync|fail|silent|"
    r"location|compressed|progress|pull|push|load|no-cache|ignore-not-found|local|cascade)"
)


def _flag_hint(prev: _Word | None) -> str | None:
    """The name a value takes from the flag before it: --image-uri / -var, not -t."""
    if prev is None or prev.op:
        return None
    t = prev.text
    if t.startswith("--") and len(t) > 2 and "=" not in t and not _BOOL_FLAG.fullmatch(t):
        return _kebab(t)
    if t in _SINGLE_DASH_LONG:
        return _kebab(t)
    return None


# ---------------------------------------------------------------- program detection

_NOISE_PROGRAMS = frozenset(
    {
        "cd",
        "pushd",
        "popd",
        "set",
        "export",
        "source",
        ".",
        "unset",
        "true",
        ":",
        "clear",
        "umask",
        "alias",
        "trap",
        "shopt",
        "ulimit",
        "wait",
    }
)
# Chatter and producers: cat <<EOF | kubectl apply -f - is a kubectl command; they count only
# when nothing else runs.
_QUIET_PROGRAMS = frozenset({"echo", "printf", "sleep", "date", "cat"})
_NO_SUBCOMMAND = _words(
    "echo printf cat ls ll grep egrep fgrep rg ag sed awk head tail less more sleep curl wget "
    "http ssh scp rsync psql mysql mysqldump pg_dump pg_restore pg_isready jq yq tee wc sort "
    "uniq cut tr xargs find cd mkdir rm cp mv chmod chown touch test [ date nc ping dig "
    "nslookup host sqlite3 redis-cli mongosh mongo base64 ps kill pkill top htop df du free "
    "uptime whoami id env which diff patch tar zip unzip gzip gunzip stat file ln pwd"
)
# CLIs whose second word is an argument, not a sub-subcommand (helm upgrade RELEASE, git push
# REMOTE), except after the listed first words (docker compose up, npm run build).
_ONE_LEVEL: dict[str, frozenset[str]] = {
    "terraform": frozenset({"workspace", "state", "providers"}),
    "tofu": frozenset({"workspace", "state", "providers"}),
    "terragrunt": frozenset({"run-all"}),
    "helm": frozenset({"repo", "plugin", "dependency", "registry", "get", "show"}),
    "alembic": frozenset(),
    "git": frozenset({"remote", "stash", "submodule", "worktree", "lfs", "bisect"}),
    "make": frozenset(),
    "just": frozenset(),
    "docker": _words(
        "compose image container network volume buildx system context manifest swarm "
        "service stack node secret config plugin trust builder"
    ),
    "podman": _words("compose image container network volume system pod"),
    "npm": frozenset({"run", "exec"}),
    "yarn": frozenset({"run", "workspace"}),
    "pnpm": frozenset({"run", "exec"}),
    "bun": frozenset({"run"}),
    "flyway": frozenset(),
    "liquibase": frozenset(),
    "dbmate": frozenset(),
    "goose": frozenset(),
    "systemctl": frozenset(),
    "journalctl": frozenset(),
    "pytest": frozenset(),
    "cargo": frozenset(),
}
_GLOBAL_VALUE_FLAGS = _words(
    "-n --namespace --context --kube-context --kubeconfig --region --profile -C --chdir -f "
    "--file --project --cluster --config --repo -R --host --log-level --env-file -p"
)
_GLOBAL_BOOL_FLAGS = _words(
    "-v --verbose --debug -q --quiet --no-cli-pager --dry-run -y --yes --no-color"
)
# CLIs whose commands are nested groups ending in a verb: a subcommand may be 4 words deep
_DEEP_GROUPS = _words("az gcloud doctl oci ibmcloud aliyun linode-cli scw exo")
_DEEP_LIMIT = 4
_KUBECTL_BUILTINS = _words(
    "get describe apply delete create edit patch replace rollout scale autoscale logs exec "
    "port-forward cp top label annotate config cluster-info api-resources api-versions explain "
    "run expose set wait drain cordon uncordon taint certificate auth diff kustomize debug "
    "events attach proxy version plugin completion"
)
_GROUP_VERBS = _words(
    "list show create delete update set swap start stop restart tail download upload wait "
    "add remove deploy run invoke browse assign enable disable get import export reset scale "
    "sync purge renew rotate login logout describe submit promote abort retry rollback resize "
    "attach detach lock unlock ssh scp status history undo pause resume apply plan execute "
    "approve cancel trigger build push pull tag untag promote-revision watch"
)
# hyphenated verbs: get-credentials, set-iam-policy, update-traffic, list-tags, add-iam-...
_GROUP_VERB_PREFIXES = _words("get set add remove update list describe create delete")
_SUBCOMMAND_WORD = re.compile(r"[a-z][a-z0-9_-]*(?::[a-z0-9_-]+)*")
_SUDO_VALUE_FLAGS = _words("-u -g -C -D -h -p -r -t -U --user --group")
_ENV_VALUE_FLAGS = _words("-u -C -S --unset --chdir --split-string")
_DASHDASH_WRAPPERS: dict[str, str] = {
    "doppler": "run",
    "op": "run",
    "aws-vault": "exec",
    "infisical": "run",
    "chamber": "exec",
    "teller": "run",
    "varlock": "run",
}
_RUNNER_WRAPPERS: dict[str, frozenset[str]] = {
    "poetry": frozenset({"run"}),
    "uv": frozenset({"run"}),
    "pipenv": frozenset({"run"}),
    "pdm": frozenset({"run"}),
    "hatch": frozenset({"run"}),
    "rye": frozenset({"run"}),
    "bundle": frozenset({"exec"}),
    "pnpm": frozenset({"exec", "dlx"}),
    "yarn": frozenset({"exec", "dlx"}),
    "npm": frozenset({"exec"}),
    "conda": frozenset({"run"}),
    "mise": frozenset({"exec", "x"}),
    "asdf": frozenset({"exec"}),
}
_RUNNER_VALUE_FLAGS = _words(
    "-n --name -p --package --with --python --project --directory -e --env-file -c"
)
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_MAX_NESTING = 6  # sh -c "$(...)" inside sh -c: deeper text is taken as written
_PYTHON = re.compile(r"python[\d.]*")
_WRAPPER_VALUE_FLAGS = frozenset({"-n", "-c", "-I", "-P", "-L", "-d"})
_TIMEOUT_VALUE_FLAGS = frozenset({"-s", "-k", "--signal", "--kill-after"})
# Single-dash long flags that name their value (terraform -var-file X); other single-dash
# words are usually bundled short flags (-it, -xvf) and name nothing.
_SINGLE_DASH_LONG = _words(
    "-var -var-file -target -out -state -chdir -backend-config -replace -name -image -tag "
    "-path -profile -region -namespace -context -cluster -file -version"
)


def program_name(program: str) -> str:
    """The bare executable name for recognition: ``./scripts/deploy.sh`` -> ``deploy.sh``."""
    return program.rstrip("/").rsplit("/", 1)[-1]


def _display_program(word: str) -> str:
    if word.lower().endswith(".exe"):
        word = word[:-4]
    parts = word.split("/")
    if len(parts) >= 2 and parts[-2] in ("bin", "sbin"):
        return parts[-1]
    return word


def _skip_flags(ws: list[str], i: int, value_flags: frozenset[str]) -> int:
    while i < len(ws) and ws[i].startswith("-") and ws[i] != "--" and len(ws[i]) > 1:
        i += 2 if ws[i] in value_flags else 1
    return i


def _resolve(ws: list[str], depth: int = 0) -> tuple[str, list[str]] | None:
    """The real program of one simple command and its arguments, past env and wrappers."""
    i = 0
    wrapper: int | None = None  # the last wrapper seen: the program when nothing follows it
    for _ in range(16):  # wrappers nest (sudo env X=1 time ...) but never deeply
        while i < len(ws) and _ENV_ASSIGN.match(ws[i]):
            i += 1
        if i >= len(ws):
            return None if wrapper is None else (ws[wrapper], ws[wrapper + 1 :])
        word = ws[i]
        if depth < _MAX_NESTING and (
            (word.startswith("$(") and word.endswith(")"))
            or (len(word) > 1 and word.startswith("`") and word.endswith("`"))
        ):
            # $(aws ecr get-login ...): the substituted command is what runs
            inner = word[2:-1] if word.startswith("$(") else word[1:-1]
            return _pick(_tidy(_safe_lex(inner)), depth + 1) or (word, ws[i + 1 :])
        wrapper = i
        base = program_name(ws[i])
        nxt = ws[i + 1] if i + 1 < len(ws) else ""
        if base in ("sudo", "doas"):
            i = _skip_flags(ws, i + 1, _SUDO_VALUE_FLAGS)
        elif base == "env":
            i = _skip_flags(ws, i + 1, _ENV_VALUE_FLAGS)
        elif base in ("time", "nohup", "exec", "command", "builtin", "caffeinate", "unbuffer"):
            i = _skip_flags(ws, i + 1, frozenset())
        elif base in ("nice", "ionice", "stdbuf", "watch", "xargs", "chronic"):
            i = _skip_flags(ws, i + 1, _WRAPPER_VALUE_FLAGS)
        elif base == "timeout":
            i = _skip_flags(ws, i + 1, _TIMEOUT_VALUE_FLAGS) + 1  # then the duration
        elif base in ("npx", "bunx", "pnpx"):
            i = _skip_flags(ws, i + 1, frozenset({"-p", "--package"}))
        elif base == "dotenv" or _DASHDASH_WRAPPERS.get(base) == nxt:
            if "--" in ws[i:]:
                i = ws.index("--", i) + 1
            elif base == "aws-vault":
                i = _skip_flags(ws, i + 3, frozenset())  # aws-vault exec PROFILE cmd
            else:
                return ws[i], ws[i + 1 :]
        elif base in _RUNNER_WRAPPERS and nxt in _RUNNER_WRAPPERS[base]:
            i = _skip_flags(ws, i + 2, _RUNNER_VALUE_FLAGS)
            if i < len(ws) and ws[i] == "--":
                i += 1
        elif _PYTHON.fullmatch(base) and nxt == "-m" and i + 2 < len(ws):
            i += 2
        elif base in _SHELLS:
            j = i + 1
            inline = False
            while j < len(ws) and ws[j][:1] in "-+" and len(ws[j]) > 1 and ws[j] != "--":
                inline = inline or (not ws[j].startswith("--") and "c" in ws[j][1:])
                # -o / -euo pipefail: a bundle ending in o takes the option name
                j += 2 if ws[j][-1] in "oO" and not ws[j].startswith("--") else 1
            if j >= len(ws) or (inline and depth >= _MAX_NESTING):
                return ws[i], ws[i + 1 :]
            if inline:
                return _pick(_tidy(_safe_lex(ws[j])), depth + 1) or (ws[i], ws[i + 1 :])
            return ws[j], ws[j + 1 :]  # bash deploy.sh: the script is the program
        else:
            return ws[i], ws[i + 1 :]
    return (ws[i], ws[i + 1 :]) if i < len(ws) else None


def _pick(words: list[_Word], depth: int = 0) -> tuple[str, list[str]] | None:
    """Program and arguments of the first meaningful simple command of a pipeline/chain."""
    fallback: tuple[str, list[str]] | None = None
    for seg in _segments(words):
        found = _resolve(seg, depth)
        if found is None:
            continue
        fallback = fallback or found
        base = program_name(found[0])
        if base in _NOISE_PROGRAMS or base in _QUIET_PROGRAMS:
            continue
        return found
    return fallback


def resolve_program(
    words: Sequence[str], *, into_shells: bool = True
) -> tuple[str, list[str]] | None:
    """The program one simple command runs and its arguments, past env and wrappers."""
    # The one wrapper table for every stage (mine, assemble): ``sudo -u x``, ``doppler run --``,
    # ``poetry run``, ``timeout 30``... With into_shells=False an inline ``bash -c '...'`` (and
    # ``$(...)``) stays the program, for callers that unwrap the script themselves.
    return _resolve(list(words), 0 if into_shells else _MAX_NESTING)


def secret_wrapper(words: Sequence[str]) -> str:
    """The secrets wrapper heading a simple command (``doppler run -- aws`` -> ``doppler``)."""
    i = 0
    while i < len(words) and _ENV_ASSIGN.match(words[i]):
        i += 1
    if i >= len(words) or "--" not in words[i:]:
        return ""
    base = program_name(words[i])
    nxt = words[i + 1] if i + 1 < len(words) else ""
    return base if base == "dotenv" or _DASHDASH_WRAPPERS.get(base) == nxt else ""


def _safe_lex(text: str) -> list[_Word]:
    try:
        return _lex(text)
    except _Unbalanced:
        return _split_tolerant(text)


def _segments(words: list[_Word]) -> list[list[str]]:
    """Simple commands of a pipeline/chain, without their redirections."""
    segs: list[list[str]] = []
    cur: list[str] = []
    skip_next = False
    for w in words:
        if w.op and w.text in _SEPARATORS:
            segs.append(cur)
            cur = []
            skip_next = False
        elif w.op:
            # a redirection: its target word is not part of the command
            skip_next = not re.search(r"&\d*-?$", w.text)
        elif skip_next:
            skip_next = False
        else:
            cur.append(w.text)
    segs.append(cur)
    return [s for s in segs if s]


def _subcommand(program: str, rest: list[str], masked: set[str]) -> str:
    base = program_name(program)
    if base in _NO_SUBCOMMAND:
        return ""
    out: list[str] = []
    j = 0
    limit = 2
    if base in _DEEP_GROUPS or (
        base in ("kubectl", "oc") and rest and rest[0] not in _KUBECTL_BUILTINS
    ):
        # command groups nest: `az webapp deployment slot swap`, `gcloud container clusters
        # get-credentials`, `kubectl argo rollouts promote` (a plugin); the verb ends them
        limit = _DEEP_LIMIT
    while j < len(rest) and len(out) < limit:
        w = rest[j]
        if w.startswith("-") and len(w) > 1:
            # global options may precede or sit between subcommand words
            # (kubectl -n prod rollout status, docker compose -f x.yml up)
            if w in _GLOBAL_VALUE_FLAGS:
                j += 2
                continue
            if out or w == "--":
                break
            if "=" in w or w in _GLOBAL_BOOL_FLAGS or w.startswith("--no-"):
                j += 1
                continue
            break
        if w in masked or not _SUBCOMMAND_WORD.fullmatch(w):
            break
        out.append(w)
        if len(out) == 1 and base in _ONE_LEVEL and w not in _ONE_LEVEL[base]:
            limit = 1
        if limit == _DEEP_LIMIT and len(out) >= 2 and _is_verb(w):
            break  # what follows the verb is its arguments (a service or resource name)
        j += 1
    return " ".join(out)


def _is_verb(word: str) -> bool:
    """A command-group CLI's verb: ``swap``, ``list``, ``get-credentials``, ``update-traffic``."""
    return word in _GROUP_VERBS or word.split("-", 1)[0] in _GROUP_VERB_PREFIXES


def _program(words: list[_Word], masked: set[str]) -> tuple[str, str]:
    """(program, subcommand) of the first meaningful simple command."""
    found = _pick(words)
    if found is None:
        return "", ""
    program, rest = found
    return _display_program(program), _subcommand(program, rest, masked)


# ---------------------------------------------------------------------- public API

_CONTINUATION = re.compile(r"\\\r?\n[ \t]*")


def join_continuations(text: str) -> str:
    """``text`` with backslash-newline line continuations joined into one line."""
    return _CONTINUATION.sub(" ", text)


# A copied "$ " shell prompt is not part of the command.
_PROMPT = re.compile(r"\A[ \t]*\$[ \t]+(?=[\w./~])")


def normalize(command: str) -> CommandTemplate:
    """Redact, tokenize and mask ``command`` into a ``CommandTemplate`` (never raises)."""
    # The same commands recur across runs and stages; results are immutable, so share them.
    return _normalize(command)


# Sized for ~10k runs: dedup, classify, mine and failures each sweep every command in turn,
# and a sweep longer than the cache evicts everything before the next stage can reuse it.
@functools.lru_cache(maxsize=1 << 16)
def _normalize(command: str) -> CommandTemplate:
    joined = join_continuations(command.replace("\x00", ""))
    joined = _PROMPT.sub("", joined, count=1)
    raw, count = redact(joined)
    raw = raw.strip()
    try:
        words = _lex(raw)
    except _Unbalanced:
        words = _split_tolerant(raw)
    words = _tidy(words)

    tokens: list[Token] = []
    masked: set[str] = set()
    prev: _Word | None = None
    recent: list[str] = []
    for w in words:
        if w.op:
            tokens.append(
                Token(text=w.text, slot=None, template=w.text, spelling=w.spelling or w.text)
            )
            prev = w
            recent.clear()
            continue
        text = w.text
        spelling = w.spelling
        # Quotes and escapes can glue pieces of a secret back together: a word that is not
        # verbatim in the (already redacted) raw text is redacted again on its own.
        if text not in raw:
            text, extra = redact(text)
            count += extra
            if extra:
                spelling = ""  # the spelling still holds the glued pieces
        templ, slots = _template_word(
            text, _flag_hint(prev), prev.text if prev is not None and not prev.op else ""
        )
        if slots == ["number"] and templ == "{number}" and _RUN_WORDS & set(recent[-2:]):
            templ, slots = "{run-id}", ["run-id"]
        if slots:
            masked.add(text)
        tokens.append(
            Token(
                text=text,
                slot=slots[0] if slots else None,
                template=quote_word(templ),
                spelling=spelling,
            )
        )
        recent.append(text)
        prev = _Word(text)

    program, subcommand = _program(words, masked)
    return CommandTemplate(
        raw=raw,
        key=" ".join(t.template for t in tokens),
        tokens=tuple(tokens),
        program=program,
        subcommand=subcommand,
        redactions=count,
    )


def slot_values(token: Token) -> dict[str, str]:
    """The value behind each placeholder of ``token`` (``app:{image-tag}`` -> image-tag: v1)."""
    if token.slot is None:
        return {}
    template = "".join(w.text for w in _safe_lex(token.template)) if token.template else ""
    if not template:
        return {token.slot: token.text}
    pattern = []
    names: list[str] = []
    pos = 0
    for m in _SLOT_WORD.finditer(template):
        pattern.append(re.escape(template[pos : m.start()]))
        group = f"g{len(names)}"
        pattern.append(f"(?P<{group}>.+?)")
        names.append(m.group(1))
        pos = m.end()
    pattern.append(re.escape(template[pos:]))
    found = re.fullmatch("".join(pattern), " ".join(token.text.split()), re.DOTALL)
    if found is None:
        return {token.slot: token.text}
    return {name: found.group(f"g{i}") for i, name in enumerate(names)}


def split_env(command: str) -> tuple[dict[str, str], str]:
    """Leading ``NAME=value`` assignments of ``command`` (redacted) and the rest of the text."""
    text, _ = redact(join_continuations(command))
    env: dict[str, str] = {}
    rest = text.lstrip()
    while True:
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s\"']*)\s+", rest)
        if m is None or not rest[m.end() :].strip():
            return env, rest.strip()
        value = m.group(2)
        env[m.group(1)] = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
        rest = rest[m.end() :]


# ------------------------------------------------------------------ error signatures

_LOG_PREFIXES = (
    # klog: E1223 14:30:52.123456   12345 controller.go:42]
    re.compile(r"[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w./-]+:\d+\]\s*"),
    re.compile(
        r"\[?(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
        r"|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2})\]?[\s,|:-]*"
    ),
    # decoration: terraform's box drawing, buildkit arrows, bullets, quote marks
    re.compile(r"(?:[│┃|>*•]+|=>|-(?=\s))\s*"),
    # elapsed seconds before a level (buildkit): 41.77 ERROR: ...
    re.compile(r"\d+\.\d+\s+(?=(?:ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL)\b)"),
    re.compile(
        r"\[?(?:ERROR|ERR|WARN(?:ING)?|INFO|DEBUG|FATAL|CRITICAL|TRACE|NOTICE|SEVERE|PANIC)\]?"
        r"(?::\s*|\s+-\s+|\s+|$)(?![\d{])"
    ),
    # "Error: x" and "x" are the same failure printed by different tools
    re.compile(r"(?i:error|fatal|warning|warn|critical|panic)\s*:\s+"),
    re.compile(r"level=(?:error|warn(?:ing)?|info|debug|fatal)\s+", re.IGNORECASE),
    re.compile(r"[\w.-]+\[\d+\]:\s*"),  # syslog program[pid]:
)
_ERROR_MASKS: tuple[MaskRule, ...] = (
    _m("hex", r"\b0x[0-9a-fA-F]+\b"),
    _m(
        "duration",
        r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)"
        r"(?![A-Za-z])|(?<![\w.])(?:\d+h)?\d+m\d+(?:\.\d+)?s(?![A-Za-z])",
    ),
    _m("line", r"(?i:\b(?:line|ln|row|col|column|position|offset)\s*:?\s*)(?P<line>\d+)"),
    # request ids and other long mixed tokens: 4442587FB7D0A2F9, Root=1-65a1b2c3-...
    _m(
        "id",
        r"(?<![A-Za-z0-9{-])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}(?![A-Za-z0-9}])",
    ),
)
# Status / exit / error codes are what tells errors apart: never masked.
_CODE_CONTEXT = re.compile(
    r"(?i)(?:\bhttp(?:/[\d.]+)?|\bstatus(?:\s*code)?|\bcode|\bexit(?:\s*(?:code|status))?|\berrno"
    r"|\berror|\berr|\bsignal|\breturned|\brc|\bgot|\bexpected|\bresponse|\bresponded with"
    r"|\bORA|\bSQLSTATE)[\s:=#-]*$"
)
# Standalone numbers (counts, ports, sizes), and long ids glued to a name (job-12345) but not
# product codes (ORA-00942) or version-like names (libpango-1.0-0).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_{.-])\d+(?:\.\d+)?(?![A-Za-z0-9_}-]|\.\d)"
    r"|(?<=[a-z0-9_][_-])\d{4,}(?![A-Za-z0-9])"
)
_SIGNATURE_INPUT = 4000  # characters of a message that can matter to its signature
_REASON_AFTER = re.compile(r" (?:[A-Z][a-z]+|OK)\b")


def _mask_error_numbers(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        before = text[max(0, m.start() - 24) : m.start()]
        if _CODE_CONTEXT.search(before):
            return m.group(0)
        if re.fullmatch(r"[1-5]\d\d", m.group(0)) and _REASON_AFTER.match(text, m.end()):
            return m.group(0)  # 503 Service Unavailable
        return "{number}"

    return _NUMBER.sub(sub, text)


def error_signature(message: str) -> str:
    """A run-independent signature of an error message: ids, numbers, times masked."""
    return _error_signature(message)


@functools.lru_cache(maxsize=8192)
def _error_signature(message: str) -> str:
    text, _ = redact(message.replace("\x00", ""))
    # Redact first (a cut could split a secret), then keep what names the error: its start.
    text = " ".join(text[:_SIGNATURE_INPUT].split())
    while True:  # every prefix match is non-empty, so this ends
        before = text
        for prefix in _LOG_PREFIXES:
            m = prefix.match(text)
            if m and 0 < m.end() < len(text):
                text = text[m.end() :]
        if text == before:
            break
    text, _ = _mask_inside(text, frozenset({"number"}))
    for rule in _ERROR_MASKS:
        if rule.pattern.groupindex:
            text = rule.pattern.sub(_mask_groups, text)
        else:
            text = rule.pattern.sub("{" + rule.kind + "}", text)
    text = _mask_error_numbers(text)
    return text.strip()[:500]

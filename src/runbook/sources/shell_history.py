"""Shell history: bash (with or without HISTTIMEFORMAT), zsh extended history, fish, atuin.

Sample input (zsh ``EXTENDED_HISTORY``: start epoch, elapsed seconds, command):
``: 1736071200:42;helm upgrade api charts/api -n prod --set image.tag=v1.4.2``

A history is a person's whole command line, so it is cut into sessions (atuin session id,
and an idle gap of ``config.history_idle_gap_s`` between commands) and only sessions that
*change* something operational (``helm upgrade``, ``kubectl rollout``, ``terraform apply``,
``alembic upgrade``, ``./deploy.sh``...) are kept; a kept session is trimmed to the span
from its first to its last operational command, plus the setup commands just before it
(``cd``, ``export``, ``git pull``) and the checks just after it (``curl``, ``kubectl get``).
Everything else never leaves this module. Without timestamps (plain bash history) each
contiguous block of operational commands is one execution, with no durations.
"""

from __future__ import annotations

import itertools
import re
import shlex
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from runbook.config import Config
from runbook.model import (
    Command,
    Diagnostic,
    ErrorEvent,
    EvidenceKind,
    Execution,
    Outcome,
    ParsedFile,
    SourceRef,
)
from runbook.redact import redact

_ZSH = re.compile(r"^: (\d{9,11}):(\d+);(.*)$")
_BASH_STAMP = re.compile(r"^#(\d{9,11})\s*$")
_FISH_CMD = re.compile(r"^- cmd: ?(.*)$")
_FISH_WHEN = re.compile(r"^  when: (\d+)\s*$")
_PLAIN_GAP = 5  # plain history: this many non-operational commands end an ops block
_CONTEXT = 4  # setup commands kept before, and checks kept after, the operational span
# Timed histories: commands run without a pause this long belong to the same piece of work.
_PACE_S = 180.0
_PACE_NO_DURATION_S = 600.0  # start-to-start when the history has no durations
_PACE_MAX = 30  # at most this many lead-in (or trailing) commands
_MAX_COMMAND_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Entry:
    """One history entry as read, before sessions are cut."""

    command: str
    line: int  # 1-based line (atuin: row id)
    at: datetime | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    cwd: str | None = None
    session: str | None = None
    host: str | None = None


# ------------------------------------------------------------------ what is operational

_WRAPPERS = frozenset({"sudo", "time", "nohup", "env", "command", "exec", "nice", "timeout"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# program → subcommands that change state ("*" = any invocation changes state)
_CHANGES: dict[str, frozenset[str]] = {
    "kubectl": _set(
        "apply create delete replace patch edit scale autoscale rollout set drain cordon "
        "uncordon taint label annotate expose run"
    ),
    "oc": _set("apply create delete replace patch edit scale rollout set"),
    "helm": _set("install upgrade rollback uninstall delete"),
    "helmfile": _set("apply sync destroy"),
    "terraform": _set("apply destroy import taint untaint state"),
    "tofu": _set("apply destroy import taint untaint state"),
    "terragrunt": _set("apply destroy run-all import"),
    "pulumi": _set("up destroy refresh import"),
    "cdk": _set("deploy destroy"),
    "sam": _set("deploy delete sync"),
    "serverless": _set("deploy remove rollback"),
    "sls": _set("deploy remove rollback"),
    "flyctl": _set("deploy scale releases secrets restart machine"),
    "fly": _set("deploy scale releases secrets restart machine"),
    "heroku": _set("releases:rollback ps:scale ps:restart pg:backups:capture run deploy"),
    "argocd": _set("app"),
    "flux": _set("reconcile suspend resume"),
    "skaffold": _set("run deploy"),
    "eksctl": _set("create delete scale upgrade update"),
    "nomad": _set("job run stop"),
    "docker": _set("push service stack compose"),
    "docker-compose": _set("up down pull restart"),
    "podman": _set("push"),
    "systemctl": _set("restart reload start stop enable disable"),
    "service": _set("*"),
    "ansible-playbook": _set("*"),
    "flyway": _set("migrate undo repair baseline clean"),
    "alembic": _set("upgrade downgrade stamp"),
    "dbmate": _set("up down migrate rollback"),
    "goose": _set("up down up-to down-to redo reset"),
    "migrate": _set("*"),
    "liquibase": _set("update rollback update-sql"),
    "sqitch": _set("deploy revert rework"),
    "pg_dump": _set("*"),
    "pg_restore": _set("*"),
    "pg_dumpall": _set("*"),
    "mysqldump": _set("*"),
    "gh": _set("workflow release"),
    "vercel": _set("deploy --prod promote rollback"),
    "netlify": _set("deploy"),
    "cap": _set("*"),
    "rails": _set("db:migrate db:rollback"),
    "rake": _set("db:migrate db:rollback"),
    "prisma": _set("migrate"),
}
# cloud CLIs: the operation word (second or third) tells a change from a read
_CLOUD = frozenset({"aws", "gcloud", "az", "doctl", "oci", "ibmcloud"})
_CHANGE_VERB = re.compile(
    r"^(?:update|put|create|delete|deploy|invoke|publish|start|stop|reboot|restart|modify|"
    r"register|deregister|set|attach|detach|run|execute|restore|failover|promote|scale|"
    r"resize|rollback|apply|import|patch|send|cp|sync|rm|mv|terminate|enable|disable|"
    r"change|swap|upgrade|reset|add|remove|tag|copy)(?:-|$)"
)
_SQL_CHANGE = re.compile(
    r"\b(?:ALTER|DROP|CREATE|UPDATE|DELETE|INSERT|TRUNCATE|VACUUM|REINDEX|GRANT|REVOKE)\b", re.I
)
_SEGMENT = re.compile(r"\s*(?:&&|\|\||;|\n)\s*")
# shell keywords that lead a segment of a loop or condition: "do helm rollback ..."
_KEYWORD = re.compile(r"^(?:(?:do|then|else|elif|\{|\()\s+)+")
# tools run for oneself -- package managers, editors, version control -- and text tools:
# never an operation themselves
_PERSONAL_TOOLS = frozenset(
    {
        "git", "brew", "apt", "apt-get", "yum", "dnf", "pacman", "pip", "pip3", "pipx", "npm",
        "yarn", "pnpm", "cargo", "go", "gem", "bundle", "poetry", "conda", "uv", "code", "vim",
        "nvim", "vi", "emacs", "nano", "open", "xdg-open", "man", "spotify", "tldr",
        # text tools take any word as an argument ("grep rollout notes.txt")
        "grep", "egrep", "fgrep", "rg", "ag", "echo", "printf", "cat", "less", "more", "head",
        "tail", "sed", "awk", "find", "ls", "ll", "which", "history", "tee", "wc", "sort",
        "uniq", "cut", "tr", "xargs", "jq", "yq", "bat", "fzf", "diff",
    }
)  # fmt: skip
# desktop and interactive programs: never part of an operation's lead-in
_DESKTOP = frozenset({"htop", "top", "btop", "tmux", "screen", "slack", "zoom", "firefox"})
# flags that turn a dry run into the real thing
_DO_IT_FLAGS = frozenset({"--execute", "--apply", "--commit", "--auto-approve", "--confirm"})
# subcommands that change a running system whatever the tool
_GENERIC_CHANGES = frozenset(
    {
        "deploy", "rollback", "promote", "sync", "swap", "scale", "renew", "rotate", "failover",
        "reassign", "migrate", "release", "restart", "drain", "cordon", "abort", "undo",
        "rollout", "publish", "provision", "decommission", "reboot", "resize", "evacuate",
    }
)  # fmt: skip
_DB_CLIENTS = frozenset({"psql", "mysql", "sqlcmd", "mongosh", "mongo", "redis-cli", "cqlsh"})
_OPS_WORD = re.compile(
    r"(?:deploy|rollback|roll-back|release|migrat|failover|rollout|scale|promote|reassign|"
    r"renew|rotate)",
    re.I,
)
_SETUP = frozenset(
    {
        "cd", "pushd", "export", "source", ".", "git", "kubectx", "kubens", "aws-vault",
        "ssh-add", "gcloud", "az", "aws", "kubectl", "doppler", "direnv", "nvm", "pyenv",
        "mkdir", "set", "unset", "ls", "pwd", "clear", "make",
        "docker", "echo", "date", "whoami", "ssh", "npm", "yarn", "pnpm", "go",
        "cargo", "mvn", "gradle", "gradlew", "pytest",
    }
)  # fmt: skip
_REPO_SCRIPT = re.compile(r"^(?:\./|(?:scripts?|bin|tools|hack|ci|ops)/)[\w./-]+$")
# build, test and release tools a procedure runs before (or after) the change itself
_BUILD = frozenset(
    {
        "npm", "npx", "yarn", "pnpm", "bun", "node", "make", "just", "task", "go", "cargo",
        "mvn", "gradle", "gradlew", "pytest", "tox", "nox", "poetry", "pip", "uv", "bazel",
        "dotnet", "sbt", "docker", "podman", "buildah", "ko", "pack", "jq", "yq", "tar", "zip",
        "sha256sum", "gh", "glab", "k6", "hey", "ab", "vegeta", "locust", "artillery", "newman",
        "playwright", "cypress", "jest", "vitest", "eslint", "tsc", "vite", "webpack",
        "cosign", "trivy", "grype", "syft", "skopeo", "crane", "sleep", "openssl",
        # linters and policy checks a pipeline runs before the change
        "tflint", "tfsec", "checkov", "terrascan", "kubeconform", "kubeval",
        "conftest", "hadolint", "shellcheck", "yamllint", "ansible-lint", "golangci-lint",
        "ruff", "flake8", "mypy", "black", "prettier", "sqlfluff", "squawk", "atlas",
        # recording what was done: tickets, incidents, status pages
        "jira", "linear", "pd", "pagerduty", "opsgenie", "statuspage", "incident-io",
    }
)  # fmt: skip
_CHECKS = frozenset(
    {
        "curl", "wget", "http", "https", "httpie", "ping", "dig", "nslookup", "nc", "kubectl",
        "helm", "aws", "gcloud", "az", "psql", "mysql", "redis-cli", "watch", "tail", "grep",
        "journalctl", "docker", "systemctl", "terraform", "flyway", "alembic", "k9s", "stern",
    }
)  # fmt: skip


def _words(command: str) -> list[str]:
    first_line = command.split("\n", 1)[0][:300]  # the program and subcommand come first
    if "'" in first_line or '"' in first_line or "\\" in first_line:
        try:
            words = shlex.split(first_line, comments=False, posix=True)
        except ValueError:
            words = first_line.split()
    else:
        words = first_line.split()  # shlex is slow; plain words need no quoting rules
    wrapped = False
    while words and (
        _ASSIGN.match(words[0])
        or words[0] in _WRAPPERS
        # "timeout 300 cmd", "nice -n 10 cmd", "sudo -u deploy cmd": wrapper arguments
        or (wrapped and (words[0].startswith("-") or re.fullmatch(r"[\d.]+[smh]?", words[0])))
    ):
        wrapped = wrapped or words[0] in _WRAPPERS
        if words[0] in ("-u", "-n", "-g") and len(words) > 1:
            words = words[1:]
        words = words[1:]
    # "doppler run -- cmd", "aws-vault exec prof -- cmd", "op run -- cmd": the command after --
    if "--" in words[:6] and words and words[0] in ("doppler", "aws-vault", "op", "dotenv"):
        words = words[words.index("--") + 1 :]
    return words


def _program(words: Sequence[str]) -> str:
    if not words:
        return ""
    prog = words[0].rsplit("/", 1)[-1]
    if prog in ("python", "python3") and len(words) > 2 and words[1].endswith("manage.py"):
        return "manage.py"
    if prog in ("npx", "bunx", "pnpm", "yarn", "npm") and len(words) > 1:
        rest = [w for w in words[1:] if not w.startswith("-")]
        if prog == "npm" and rest[:1] == ["run"] and len(rest) > 1:
            return f"npm-run:{rest[1]}"
        return rest[0].rsplit("/", 1)[-1] if rest else prog
    return prog


@lru_cache(maxsize=65536)  # histories repeat the same commands thousands of times
def is_operational_change(command: str) -> bool:
    """True when ``command`` changes something in an operations sense (deploy, apply, migrate...)."""
    parts = [p for p in _SEGMENT.split(command) if p.strip()]
    return any(_one_changes(_KEYWORD.sub("", p)) for p in parts[:12])


def _one_changes(command: str) -> bool:
    words = _words(command)
    prog = _program(words)
    if not prog:
        return False
    args = [w for w in words[1:] if not w.startswith("-")]
    if prog in _PERSONAL_TOOLS:
        return False
    if any(w in _DO_IT_FLAGS for w in words[1:]):
        return True  # gh-ost/pt-online-schema-change/kafka-reassign-partitions --execute
    if prog in _CHANGES:
        subs = _CHANGES[prog]
        if "*" in subs:
            return len(words) > 1
        return any(a in subs for a in args[:3]) or any(w in subs for w in words[1:4])
    if prog in _CLOUD:
        # az webapp deployment slot swap: nested groups put the verb up to 4 words in
        return any(_CHANGE_VERB.match(a) for a in args[1:5])
    if prog in _DB_CLIENTS:
        if any(w in ("-f", "--file") or w.startswith("--file=") for w in words):
            return True
        return bool(_SQL_CHANGE.search(command))
    if prog == "manage.py":
        return any(a in ("migrate", "loaddata", "flush") for a in args[1:3])
    if prog.startswith("npm-run:") or prog in ("make", "just", "task", "invoke", "mage"):
        target = prog.split(":", 1)[1] if ":" in prog else " ".join(args[:2])
        return bool(_OPS_WORD.search(target))
    # an operations verb as the tool's subcommand: cmctl renew, argocd app sync, fly deploy
    if any(a in _GENERIC_CHANGES for a in args[:3]):
        return True
    # scripts named for what they do: ./deploy.sh, bin/rollback, scripts/migrate-db
    return bool(_OPS_WORD.search(prog))


def _programs(command: str) -> list[str]:
    """Programs of each line and ``&&``/``;`` segment (a ``for`` loop's body counts too)."""
    out: list[str] = []
    for line in command.split("\n")[:20]:
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
            prog = _program(_words(part))
            if prog in ("for", "while", "do", "then", "if", "end", "done", "fi"):
                continue
            if prog:
                out.append(prog)
    return out


def _ops_family(prog: str) -> bool:
    return prog in _CHANGES or prog in _CLOUD or prog in _DB_CLIENTS or bool(_OPS_WORD.search(prog))


@lru_cache(maxsize=65536)
def _is_work(command: str) -> bool:
    """Every program is a setup, build, test, release or operations tool (never an editor)."""
    first = _words(command)[:1]
    raw = first[0].rsplit("/", 1)[-1] if first else ""
    if first and _REPO_SCRIPT.match(first[0]):
        return True  # ./scripts/smoke.sh, bin/release: the repository's own procedure
    progs = _programs(command)
    if progs and all(
        p in _SETUP or p in _BUILD or p in _CHECKS or _ops_family(p) or raw in _BUILD for p in progs
    ):
        return True
    # A vendor's admin CLI is in no table: kafka-topics.sh, etcdctl, rabbitmqctl, kubeadm,
    # redis-cli -- named for what it is, never a tool people use for themselves.
    return (
        bool(progs)
        and raw not in _PERSONAL_TOOLS
        and raw not in _DESKTOP
        and raw.endswith((".sh", "ctl", "adm", "-cli", "-admin"))
    )


@lru_cache(maxsize=65536)
def _is_setup(command: str) -> bool:
    progs = _programs(command)
    return bool(progs) and all(p in _SETUP or _ops_family(p) for p in progs)


@lru_cache(maxsize=65536)
def _is_check(command: str) -> bool:
    progs = _programs(command)
    return bool(progs) and any(p in _CHECKS or _ops_family(p) for p in progs)


# ------------------------------------------------------------------ formats


def _epoch(value: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, tz=UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _clip(command: str) -> str:
    return command if len(command) <= _MAX_COMMAND_CHARS else command[:_MAX_COMMAND_CHARS] + "…"


def _join_continuations(command: str) -> str:
    """``cmd \\<newline>  --flag`` is one line to the shell: join it the same way."""
    return re.sub(r"[ \t]*\\\n[ \t]*", " ", command)


def detect_format(text: str) -> str:
    """``zsh`` | ``fish`` | ``bash-timestamped`` | ``bash`` from the first non-empty lines."""
    seen = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        if _ZSH.match(line):
            return "zsh"
        if _FISH_CMD.match(line):
            return "fish"
        if _BASH_STAMP.match(line):
            return "bash-timestamped"
        seen += 1
        if seen > 50:
            break
    return "bash"


def read_entries(text: str, fmt: str) -> tuple[list[Entry], list[Diagnostic], int]:
    """Entries of a text history in format ``fmt``; also returns malformed line numbers count."""
    if fmt == "zsh":
        return _zsh(text)
    if fmt == "fish":
        return _fish(text)
    return _bash(text, timestamped=fmt == "bash-timestamped")


def _zsh(text: str) -> tuple[list[Entry], list[Diagnostic], int]:
    lines = text.split("\n")
    out: list[Entry] = []
    bad = 0
    i = 0
    while i < len(lines):
        m = _ZSH.match(lines[i])
        if m is None:
            if lines[i].strip():
                bad += 1
            i += 1
            continue
        start = i
        parts = [m.group(3)]
        # zsh writes an embedded newline as "\" at the end of the line
        while parts[-1].endswith("\\") and i + 1 < len(lines) and not _ZSH.match(lines[i + 1]):
            parts[-1] = parts[-1][:-1]
            i += 1
            parts.append(lines[i])
        command = _join_continuations("\n".join(parts).strip())
        if command:
            out.append(
                Entry(
                    _clip(command),
                    start + 1,
                    _epoch(int(m.group(1))),
                    float(m.group(2)),
                )
            )
        i += 1
    return out, [], bad


def _fish_unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _fish(text: str) -> tuple[list[Entry], list[Diagnostic], int]:
    lines = text.split("\n")
    out: list[Entry] = []
    bad = 0
    i = 0
    while i < len(lines):
        m = _FISH_CMD.match(lines[i])
        if m is None:
            if lines[i].strip() and not lines[i].startswith(" "):
                bad += 1
            i += 1
            continue
        start = i
        when: datetime | None = None
        i += 1
        # "paths:" lists arguments that were existing paths, not the working directory
        while i < len(lines) and lines[i].startswith(" "):
            w = _FISH_WHEN.match(lines[i])
            if w:
                when = _epoch(int(w.group(1)))
            i += 1
        command = _fish_unescape(m.group(1)).strip()
        if command:
            out.append(Entry(_clip(command), start + 1, when))
    return out, [], bad


def _bash(text: str, timestamped: bool) -> tuple[list[Entry], list[Diagnostic], int]:
    lines = text.split("\n")
    out: list[Entry] = []
    if not timestamped:
        for i, line in enumerate(lines):
            if line.strip():
                out.append(Entry(_clip(line.strip()), i + 1))
        return out, [], 0
    stamp: datetime | None = None
    body: list[str] = []
    body_line = 0

    def flush() -> None:
        command = _join_continuations("\n".join(body).strip())
        if command:
            out.append(Entry(_clip(command), body_line, stamp))
        body.clear()

    for i, line in enumerate(lines):
        m = _BASH_STAMP.match(line)
        if m:
            flush()
            stamp = _epoch(int(m.group(1)))
            body_line = i + 2
            continue
        if not body and not line.strip():
            continue
        if not body:
            body_line = i + 1
        body.append(line)
    flush()
    return out, [], 0


# ------------------------------------------------------------------ atuin


def parse_path(path: Path, rel: str, config: Config) -> ParsedFile:
    """Read an atuin SQLite history database (read-only); commands are redacted here."""
    diags: list[Diagnostic] = []
    entries: list[Entry] = []
    redactions = 0
    try:
        conn = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return _empty(rel, f"cannot open atuin database: {exc}")
    try:
        cols = {row[1] for row in conn.execute("PRAGMA table_info(history)")}
        need = {"timestamp", "command"}
        if not need <= cols:
            return _empty(rel, "no atuin `history` table with timestamp and command columns")
        wanted = ["id", "timestamp", "duration", "exit", "command", "cwd", "session", "hostname"]
        select = ", ".join(c if c in cols else "NULL" for c in wanted)
        where = " WHERE deleted_at IS NULL" if "deleted_at" in cols else ""
        query = f"SELECT {select} FROM history{where} ORDER BY timestamp, rowid"
        for n, row in enumerate(conn.execute(query), start=1):
            entry, count = _atuin_entry(row, n)
            redactions += count
            if entry is None:
                diags.append(Diagnostic(SourceRef(rel, n), "atuin row without a usable command"))
                continue
            entries.append(entry)
    except sqlite3.Error as exc:
        diags.append(Diagnostic(SourceRef(rel), f"atuin database unreadable: {exc}", "error"))
    finally:
        conn.close()
    executions = cut_executions(entries, rel, config, "atuin")
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.SHELL_HISTORY,
        executions=tuple(executions),
        diagnostics=tuple(diags[:50]),
        redactions=redactions,
    )


def _atuin_entry(row: Sequence[object], n: int) -> tuple[Entry | None, int]:
    rid, ts, duration, exit_code, command, cwd, session, host = row
    if not isinstance(command, str) or not command.strip() or not isinstance(ts, (int, float)):
        return None, 0
    text, count = redact(command.strip())
    at = _epoch(ts / 1e9)
    dur = duration / 1e9 if isinstance(duration, (int, float)) and duration >= 0 else None
    code = exit_code if isinstance(exit_code, int) and exit_code >= 0 else None
    line = rid if isinstance(rid, int) else n
    cwd_text = redact(cwd)[0] if isinstance(cwd, str) and cwd else None
    return (
        Entry(
            _clip(text),
            line,
            at,
            dur,
            code,
            cwd_text,
            str(session) if session is not None else None,
            str(host) if host is not None else None,
        ),
        count,
    )


def _empty(rel: str, message: str) -> ParsedFile:
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.SHELL_HISTORY,
        diagnostics=(Diagnostic(SourceRef(rel), message, "error"),),
    )


# ------------------------------------------------------------------ sessions


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """Read a text shell history (bash / zsh / fish) into its operational executions only."""
    fmt = detect_format(text)
    entries, diags, bad = read_entries(text, fmt)
    if bad:
        diags.append(
            Diagnostic(SourceRef(rel), f"{bad} line(s) not in {fmt} history format were skipped")
        )
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.SHELL_HISTORY,
        executions=tuple(cut_executions(entries, rel, config, fmt)),
        diagnostics=tuple(diags),
    )


def _sessions(entries: Sequence[Entry], gap_s: float) -> Iterator[list[Entry]]:
    """Split timed entries on session id changes and idle gaps (entries keep file order)."""
    current: list[Entry] = []
    last_end: datetime | None = None
    for e in entries:
        if current:
            new_session = e.session is not None and e.session != current[-1].session
            idle = (
                e.at is not None
                and last_end is not None
                and (e.at - last_end).total_seconds() > gap_s
            )
            if new_session or idle:
                yield current
                current = []
        current.append(e)
        if e.at is not None:
            end = e.at.timestamp() + (e.duration_s or 0.0)
            last_end = datetime.fromtimestamp(end, tz=UTC).replace(tzinfo=None)
    if current:
        yield current


def _plain_blocks(entries: Sequence[Entry]) -> Iterator[list[Entry]]:
    """Untimed history: windows around runs of operational commands (few others between)."""
    ops = [i for i, e in enumerate(entries) if is_operational_change(e.command)]
    k = 0
    while k < len(ops):
        first = last = ops[k]
        while k + 1 < len(ops) and ops[k + 1] - last - 1 <= _PLAIN_GAP:
            k += 1
            last = ops[k]
        k += 1
        # a little context on both sides; _trim keeps only setup before and checks after
        yield list(entries[max(0, first - _CONTEXT) : last + _CONTEXT + 1])


def _trim(session: Sequence[Entry]) -> list[Entry]:
    """The span first-to-last operational change, plus the lead-in before it and checks after.

    Lead-in: setup commands (``cd``, ``export``, ``git pull``) always; with timestamps, also
    whatever the operator ran in one go right before (``npm ci``, ``make test``, ``docker
    build`` — a procedure's build and test steps change nothing themselves). The same holds
    after the last change for checks. A personal command that sneaks in this way is a one-off
    the miner's support counts drop; a pause longer than ``_PACE_S``, or a command of no
    build, test, release or operations tool (an editor, a music player), ends the lead-in.
    """
    flags = [is_operational_change(e.command) for e in session]
    if not any(flags):
        return []
    first = flags.index(True)
    last = len(flags) - 1 - flags[::-1].index(True)
    start = first
    while start > 0 and (
        (first - start < _CONTEXT and _is_setup(session[start - 1].command))
        or (
            first - start < _PACE_MAX
            and _is_work(session[start - 1].command)
            and _in_one_go(session[start - 1], session[start])
        )
    ):
        start -= 1
    end = last
    while end + 1 < len(session) and (
        (end - last < _CONTEXT and _is_check(session[end + 1].command))
        or (
            end - last < _PACE_MAX
            and _is_work(session[end + 1].command)
            and _in_one_go(session[end], session[end + 1])
        )
    ):
        end += 1
    return list(session[start : end + 1])


def _in_one_go(before: Entry, after: Entry) -> bool:
    """``after`` followed ``before`` without a pause (timed entries only)."""
    if before.at is None or after.at is None:
        return False
    if before.duration_s is not None:
        pause = (after.at - before.at).total_seconds() - before.duration_s
        return -1.0 <= pause <= _PACE_S
    # no durations (bash HISTTIMEFORMAT): start to start includes the command's own runtime
    return 0.0 <= (after.at - before.at).total_seconds() <= _PACE_NO_DURATION_S


def cut_executions(
    entries: Sequence[Entry], rel: str, config: Config, shell: str
) -> list[Execution]:
    """Cut history entries into sessions and keep only the operational ones, as Executions."""
    timed = any(e.at is not None for e in entries)
    if timed:
        # atuin interleaves terminals: each session id is cut on its own, in first-seen order
        by_session: dict[str | None, list[Entry]] = {}
        for e in entries:
            by_session.setdefault(e.session, []).append(e)
        gap = max(config.history_idle_gap_s, 1.0)
        windows = [w for group in by_session.values() for w in _sessions(group, gap)]
        windows.sort(key=lambda w: (w[0].at or datetime.min, w[0].line))
    else:
        windows = list(_plain_blocks(entries))
    chunks = [c for c in (_trim(w) for w in windows) if c]
    return _numbered(chunks, rel, shell)


def _numbered(chunks: Sequence[Sequence[Entry]], rel: str, shell: str) -> list[Execution]:
    out: list[Execution] = []
    for n, chunk in enumerate(chunks, start=1):
        exec_id = rel if len(chunks) == 1 else f"{rel}#{n}"
        out.append(_execution(chunk, rel, exec_id, shell))
    return out


# ------------------------------------------------------------------ streaming

STREAM_CHUNK_LINES = 20_000  # lines parsed at once when a history is read as a stream
_STREAM_OPS_DISTANCE = 1_000  # untimed: cut only this many lines after an operational command


def parse_stream(lines: Iterable[str], rel: str, config: Config) -> ParsedFile:
    """Read a (large) text history line by line in bounded memory; same result as ``parse``.

    Lines arrive redacted, without line ends. The history is parsed in pieces of about
    ``STREAM_CHUNK_LINES`` lines, cut only where no session can span the cut: at an idle gap
    longer than ``history_idle_gap_s`` (timed formats), or far from any operational command
    (untimed). Only the operational chunks of each piece are kept.
    """
    it = iter(lines)
    head: list[str] = []
    for line in it:
        head.append(line)
        if len(head) >= 200:
            break
    fmt = detect_format("\n".join(head))
    gap = max(config.history_idle_gap_s, 1.0)
    kept: list[list[Entry]] = []
    bad_total = 0
    buffer: list[str] = []
    base = 0  # lines before the buffer
    last_end: int | None = None  # epoch when the last timed entry ended
    since_op = 0

    def flush() -> None:
        nonlocal base, bad_total
        if not buffer:
            return
        entries, _, bad = read_entries("\n".join(buffer), fmt)
        bad_total += bad
        shifted = [replace(e, line=e.line + base) for e in entries]
        if any(e.at is not None for e in shifted):
            windows = list(_sessions(shifted, gap))
        else:
            windows = list(_plain_blocks(shifted))
        kept.extend(c for c in (_trim(w) for w in windows) if c)
        base += len(buffer)
        buffer.clear()

    for line in itertools.chain(head, it):
        span = _entry_span(line, fmt)
        if span is not None and len(buffer) >= STREAM_CHUNK_LINES:
            epoch = span[0] if span[0] >= 0 else None
            idle = epoch is not None and last_end is not None and epoch - last_end > gap
            far = epoch is None and since_op >= _STREAM_OPS_DISTANCE
            if idle or far or len(buffer) >= 4 * STREAM_CHUNK_LINES:
                flush()
        if span is not None and span[0] >= 0:
            last_end = max(span[1], last_end or span[1])
        since_op = 0 if is_operational_change(line) else since_op + 1
        buffer.append(line)
    flush()
    diags: list[Diagnostic] = []
    if bad_total:
        diags.append(
            Diagnostic(
                SourceRef(rel), f"{bad_total} line(s) not in {fmt} history format were skipped"
            )
        )
    kept.sort(key=lambda w: (w[0].at or datetime.min, w[0].line))
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.SHELL_HISTORY,
        executions=tuple(_numbered(kept, rel, fmt)),
        diagnostics=tuple(diags),
    )


def _entry_span(line: str, fmt: str) -> tuple[int, int] | None:
    """(start, end) epochs ((-1, -1) when untimed) if ``line`` begins a history entry."""
    if fmt == "zsh":
        m = _ZSH.match(line)
        return (int(m.group(1)), int(m.group(1)) + int(m.group(2))) if m else None
    if fmt == "bash-timestamped":
        m = _BASH_STAMP.match(line)
        return (int(m.group(1)), int(m.group(1))) if m else None
    if fmt == "fish":
        return (-1, -1) if _FISH_CMD.match(line) else None
    return (-1, -1) if line.strip() else None


def _execution(chunk: Sequence[Entry], rel: str, exec_id: str, shell: str) -> Execution:
    commands = tuple(
        Command(
            text=e.command,
            source=SourceRef(rel, e.line),
            exit_code=e.exit_code,
            started_at=e.at,
            duration_s=e.duration_s,
            cwd=e.cwd,
            origin="history",
        )
        for e in chunk
    )
    errors = tuple(
        ErrorEvent(
            message=f"exit code {c.exit_code}",
            source=c.source,
            command=c.text,
            at=c.started_at,
        )
        for c in commands
        if c.exit_code not in (None, 0)
    )
    starts = [e.at for e in chunk if e.at is not None]
    started = min(starts) if starts else None
    finished: datetime | None = None
    if starts:
        ends = [
            datetime.fromtimestamp(e.at.timestamp() + (e.duration_s or 0.0), tz=UTC).replace(
                tzinfo=None
            )
            for e in chunk
            if e.at is not None
        ]
        finished = max(ends)
    ops_codes = [c.exit_code for c in commands if is_operational_change(c.text)]
    outcome = Outcome.UNKNOWN
    if ops_codes and all(code is not None for code in ops_codes):
        outcome = Outcome.SUCCESS if ops_codes[-1] == 0 else Outcome.FAILURE
    hosts = sorted({e.host for e in chunk if e.host})
    title = f"{shell} history"
    if started is not None:
        title += f" {started:%Y-%m-%d %H:%M}"
    return Execution(
        id=exec_id,
        source=SourceRef(rel, chunk[0].line),
        kind=EvidenceKind.SHELL_HISTORY,
        title=title,
        context=f"host: {', '.join(hosts)}" if hosts else "",
        started_at=started,
        finished_at=finished,
        duration_s=(finished - started).total_seconds() if started and finished else None,
        outcome=outcome,
        commands=commands,
        errors=errors,
        tags=("shell-history", shell),
    )

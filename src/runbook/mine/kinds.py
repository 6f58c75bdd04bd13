"""What a command is: noise, a check (verify / dry run), its role, its phase fit, its title.

All decisions read the tables in ``tables.py``. Sample command classified here:
    kubectl rollout status deployment/api -n team-a --timeout=120s   (check: verify)
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from runbook.mine import tables as tb
from runbook.model import Command, CommandTemplate

__all__ = [
    "check_kind",
    "is_check",
    "is_monitor",
    "is_noise",
    "is_test_check",
    "role",
    "title_for",
]

_SMOKE = re.compile(r"smoke", re.IGNORECASE)
_SQL_PROGRAMS = frozenset(
    {"psql", "mysql", "mariadb", "sqlite3", "cqlsh", "mongosh", "clickhouse-client", "sqlcmd"}
)
_SQL_FLAGS = frozenset({"-c", "--command", "-e", "--execute", "--eval", "-Q", "-q"})
_REDIS_READS = frozenset(
    {"info", "ping", "get", "dbsize", "memory", "slowlog", "client", "cluster", "scan", "ttl",
     "type", "exists", "llen", "hgetall", "keys", "xinfo", "latency", "monitor", "mget",
     "strlen", "scard", "zcard", "hlen", "pubsub", "lastsave", "role"}
)  # fmt: skip
_VERIFY_SUBCOMMANDS = {"helm": frozenset({"test"}), "gh": frozenset({"run"})}


_LIST_CHARS = re.compile(r"[|;&<>]")
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})


def _words(raw: str, depth: int = 0) -> list[list[str]]:
    """Shell segments; ``bash -c '...'`` is unwrapped into the segments of its script."""
    out: list[list[str]] = []
    for seg in tb.segments(raw):
        if depth < 2 and tb.segment_program(seg) in _SHELLS and "-c" in seg:
            i = seg.index("-c")
            if i + 1 < len(seg):
                out.extend(_words(seg[i + 1], depth + 1))
                continue
        out.append(seg)
    return out


def _sub(t: CommandTemplate) -> list[str]:
    return t.subcommand.split()


def _has_file_redirect(words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word in {">", ">>"}:
            target = words[i + 1] if i + 1 < len(words) else ""
            if target not in {"/dev/null", "&"} and not target.startswith("&"):
                return True
    return False


def is_noise(t: CommandTemplate, cmd: Command) -> bool:
    """True for typos (exit 127 / command not found) and local navigation or inspection."""
    if cmd.exit_code == 127:
        return True
    short_or_failed = cmd.exit_code not in (0, None) or cmd.output[:400].count("\n") <= 2
    if short_or_failed and tb.COMMAND_NOT_FOUND.search(cmd.output[:400]):
        return True
    if t.program and tb.DOC_FILE.match(t.program):
        return True
    # Printing a secret is no step -- unless it is chained to real work (`vault kv get ... >
    # /dev/null && ./scripts/render-config.sh prod`): its segments are skipped below.
    secret = bool(tb.SECRET_READ.search(t.raw)) and "$(" not in t.raw and "`" not in t.raw
    # Fast path: a meaningful main program and no shell list/pipe to inspect.
    if (
        not secret
        and t.program
        and t.program not in tb.NOISE_PROGRAMS
        and t.program not in tb.NOISE_SUBCOMMANDS
        and not _LIST_CHARS.search(t.raw)
    ):
        return False
    segs = _words(t.raw)
    if not segs:
        return True
    for index, seg in enumerate(segs):
        if secret and tb.SECRET_READ.search(" ".join(seg)):
            continue
        if _has_file_redirect(seg) or "<<" in seg:
            return False
        program = tb.segment_program(seg)
        if not program:
            continue
        if program in tb.NOISE_PROGRAMS:
            continue
        if index > 0 and program in tb.PIPE_FILTERS:
            continue
        noisy_subs = tb.NOISE_SUBCOMMANDS.get(program)
        if noisy_subs is not None:
            rest = (
                [w for w in seg[seg.index(program) + 1 :] if not w.startswith("-")]
                if program in seg
                else []
            )
            if rest and (rest[0] in noisy_subs or " ".join(rest[:2]) in noisy_subs):
                continue
            if not rest and program == "git":
                continue
        return False
    return True


def _sql_arg(seg: list[str]) -> str | None:
    for i, word in enumerate(seg):
        if word in _SQL_FLAGS and i + 1 < len(seg):
            return seg[i + 1]
        for flag in ("--command=", "--execute=", "--eval="):
            if word.startswith(flag):
                return word[len(flag) :]
    return None


def check_kind(t: CommandTemplate) -> str | None:
    """``"verify"`` for reads / probes, ``"dryrun"`` for plans and dry runs, else None."""
    segs = _words(t.raw)
    if not segs:
        return None
    first = segs[0]
    for seg in segs[1:]:
        program = tb.segment_program(seg)
        if program and program not in tb.PIPE_FILTERS and program not in tb.CHECK_PROGRAMS:
            return None
    program = t.program or tb.segment_program(first)
    sub = _sub(t)
    head = sub[0] if sub else ""
    lowered = [w.lower() for w in first]
    flags = {w.split("=", 1)[0] for w in lowered}
    if flags & tb.STATE_CHECK_FLAGS and not flags & tb.SAVE_PLAN_FLAGS:
        return "verify"
    if flags & tb.DRYRUN_FLAGS:
        return "dryrun"
    if head in tb.DRYRUN_SUBCOMMANDS.get(program, frozenset()):
        return "dryrun"
    if _has_file_redirect(first):
        return None
    if any(w in tb.NOT_CHECK_WORDS for w in sub[:3]):
        return None
    if program in tb.CHECK_PROGRAMS:
        return None if tb.HTTP_WRITE.search(t.raw) else "verify"
    if any(w in tb.READ_FLAGS for w in first[1:]):
        return "verify"
    if any(_SMOKE.search(w) for w in first[1:]):
        return "verify"
    if program in _SQL_PROGRAMS:
        sql = _sql_arg(next((seg for seg in segs if tb.segment_program(seg) == program), first))
        return "verify" if sql is not None and tb.SQL_READ.match(sql) else None
    if program == "redis-cli":
        args = [w for w in first[1:] if not w.startswith("-")]
        # redis-cli -h host -p 6379 INFO memory: the first bare word after option values
        for i, word in enumerate(first[1:], start=1):
            if word.startswith("-"):
                continue
            if i > 1 and first[i - 1] in {"-h", "-p", "-a", "-n", "-u", "--user", "--pass"}:
                continue
            return "verify" if word.lower() in _REDIS_READS else None
        return "verify" if not args else None
    if head in _VERIFY_SUBCOMMANDS.get(program, frozenset()):
        return "verify"
    # aws-style: service then operation; generic: the first two subcommand words.
    words = sub[1:2] if program in {"aws", "gcloud", "az"} and len(sub) > 1 else sub[:2]
    if program in {"gcloud", "az"}:
        words = sub[:4]
    elif len(sub) > 2:
        words = [*words, sub[-1]]  # nested groups end in the verb: kubectl argo rollouts status
    for word in words:
        if word in tb.CHECK_WORDS or (
            word.startswith(tb.CHECK_PREFIXES) and word not in tb.NOT_CHECK_WORDS
        ):
            return "verify"
    return None


def is_test_check(t: CommandTemplate) -> bool:
    """A smoke / test run: a check that exercises the system and may have its own check."""
    if check_kind(t) != "verify":
        return False
    words = [w.lower() for seg in _words(t.raw)[:1] for w in seg]
    return any(_SMOKE.search(w) for w in words) or "test" in _sub(t)[:2]


def is_check(t: CommandTemplate) -> bool:
    """True when the command reads or verifies state rather than changing it."""
    return check_kind(t) is not None


def is_monitor(t: CommandTemplate) -> bool:
    """True for log / metric reads (``aws logs tail``, ``kubectl logs``, metric queries)."""
    head = f"{t.program} {t.subcommand}".strip()
    return any(p.search(head) for p in tb.MONITOR_PATTERNS)


_RAW_ROLES = frozenset({"revert", "backup", "document"})


def role(t: CommandTemplate) -> str:
    """The command's role ("build", "deploy", "check", "monitor", ...), "" when unknown."""
    if is_monitor(t):
        return "monitor"
    kind = check_kind(t)
    if kind == "verify":
        return "check"
    if kind == "dryrun":
        return "dryrun"
    head = f"{t.program} {t.subcommand}".strip()
    for name, pattern in tb.ROLE_RULES:
        if pattern.search(head) or (name in _RAW_ROLES and pattern.search(t.raw)):
            return name
    return ""


_WRITERS = frozenset({"cat", "tee", "printf", "echo"})


def _written_file(segs: list[list[str]]) -> str:
    """The file the first segment writes: ``> file`` / ``>> file`` or ``tee``'s argument."""
    if not segs:
        return ""
    words = segs[0]
    for i, word in enumerate(words):
        if word in {">", ">>"} and i + 1 < len(words):
            target = words[i + 1]
            if target != "/dev/null" and not target.startswith(("&", "-")):
                return target
    if len(segs) > 1 and tb.segment_program(segs[1]) == "tee":
        after = segs[1][[w.rsplit("/", 1)[-1] for w in segs[1]].index("tee") + 1 :]
        return next((w for w in after if not w.startswith("-")), "")
    return ""


def _display(word: str) -> str:
    return tb.DISPLAY_NAMES.get(word, word)


def _object_after(words: list[str], skip: int) -> str:
    """First positional word after ``skip`` leading words (flags and their values skipped)."""
    i = skip
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            i += (
                2
                if "=" not in word and i + 1 < len(words) and not words[i + 1].startswith("-")
                else 1
            )
            continue
        return word
    return ""


def title_for(t: CommandTemplate, text: str) -> str:
    """A short imperative title from program + subcommand + object (``text`` = display form)."""
    segs = tb.segments(text) or [[t.program]]
    seg = segs[0]
    program = t.program or tb.segment_program(seg)
    if program in _WRITERS:
        # cat <<EOF > values.yaml (a heredoc body follows): the step writes that file
        target = _written_file(tb.segments(text.split("\n", 1)[0]))
        if target:
            return f"Write {target}"
    start = seg.index(program) + 1 if program in seg else 1
    rest = seg[start:]
    sub = _sub(t)
    head = " ".join([program, *sub]).strip()
    for prefix, title in tb.TITLES:
        if head == prefix or head.startswith(prefix + " "):
            if "{obj}" in title:
                obj = _object_after(rest, len(prefix.split()) - 1)
                title = (
                    title.replace("{obj}", obj).strip()
                    if obj
                    else title.replace(" {obj}", "").replace("{obj}", "").strip()
                )
            return title or prefix
    if program in tb.CHECK_PROGRAMS and program in {
        "curl",
        "wget",
        "http",
        "https",
        "httpie",
        "xh",
    }:
        url = next((w for w in rest if "://" in w or w.startswith(("localhost", "{"))), "")
        if url.startswith("{"):
            return "Check HTTP endpoint"
        if url:
            parts = urlsplit(url if "://" in url else "http://" + url)
            where = parts.path if parts.path not in {"", "/"} else parts.netloc
            return f"Check {where} endpoint"
        return "Check HTTP endpoint"
    if program in {"gcloud", "az"} and len(sub) >= 3:
        # nested groups end in the verb: "webapp deployment slot swap" -> "swap deployment slot"
        middle = " ".join(sub[1:-1])
        return f"{_display(sub[0])}: {sub[-1].replace('-', ' ')} {middle}"
    if program in {"aws", "gcloud", "az"} and len(sub) >= 2:
        return f"{_display(sub[0])}: {sub[1].replace('-', ' ')}"
    if sub:
        words = " ".join(w for w in sub[:3] if "{" not in w and "/" not in w) or sub[0]
        return f"Run {_display(program)} {words}".strip()
    obj = _object_after(rest, 0)
    return f"Run {program} {obj}".strip() if obj and len(obj) <= 40 else f"Run {program}"

"""Secret redaction: every piece of evidence passes through ``redact`` before anything else.

Sample input line this module is built for:
    PGPASSWORD=hunter2 psql "postgres://app:s3cr3t@db:5432/app" -H "Authorization: Bearer eyJ..."

Rules are data (``RULES``): an ordered tuple of ``SecretRule`` (name, compiled pattern, the
group(s) holding the secret). Each secret value is replaced in place by ``{redacted:NAME}``
where NAME is the rule name, or for ``KEY=value`` style assignments the key in kebab-case
(``DB_PASSWORD=x`` -> ``DB_PASSWORD={redacted:db-password}``); the key itself stays so the
command still reads well. Placeholders (``$TOKEN``, ``${TOKEN}``, ``{token}``, ``<token>``,
``***``, ``REDACTED``...) are never counted as secrets, which also makes ``redact``
idempotent: a second pass finds only ``{redacted:...}`` markers and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "RULES",
    "SecretRule",
    "contains_secret",
    "is_secret_key",
    "redact",
    "redacted_marker",
    "strip_ansi",
]


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One redaction rule: the secret is the first of ``groups`` that matched."""

    name: str
    pattern: re.Pattern[str]
    groups: tuple[str, ...] = ("secret",)
    # Group whose text, kebab-cased, names the placeholder instead of ``name``.
    named_by: str | None = None
    # False: a bare value must look like a secret (digit/symbol, or long) - used where the
    # key word also appears in prose ("invalid token: expired").
    weak_ok: bool = True
    # Flag-style rules: boolean flags such as ``--no-password`` take no value.
    flag: bool = False
    # The ``named_by`` text must match this (the key says "secret") for a match to count.
    key_pattern: re.Pattern[str] | None = None
    # Cheap pre-check: the rule can only match when the lowercased text contains one of these.
    hints: tuple[str, ...] = ()


# Key names that say "this value is a secret". They must END the key, so token_count,
# password_file, secret_id or max_tokens never match. ``pwd`` only after a separator:
# bare PWD / OLDPWD are the shell's working directory.
_SECRET_KEY = (
    r"(?:password|passwd|passphrase|secret|token|credentials?|"
    r"api[_.-]?key|apikey|access[_.-]?key|secret[_.-]?key|private[_.-]?key|"
    r"signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|auth[_.-]?key|"
    r"account[_.-]?key|client[_.-]?secret|"
    r"[_.-]pwd|[_.-]pass)"
)
# A whole identifier; whether it names a secret is checked afterwards (``key_pattern``), which
# keeps these rules linear on large texts.
_NAME = r"[A-Za-z0-9_.-]{1,80}"
_KEY_IS_SECRET = re.compile(_SECRET_KEY + r"$", re.IGNORECASE)
_KEY_HINTS = ("pass", "secret", "token", "key", "credential", "pwd")
# A value in one of three spellings; the first group that matched is the secret.
_DQ = r'"(?P<dq>(?:[^"\\\n]|\\.){1,500})"'
_SQ = r"'(?P<sq>[^'\n]{1,500})'"
# A bare value ends at shell/JSON punctuation; a closing bracket or full stop right before
# the end is prose ("(using password: YES)"), not part of the value.
_BARE = r"(?P<bare>[^\s\"'`,;&|<>]+?)(?=[).\]]*(?:[\s\"'`,;&|<>]|$))"
_VALUE_GROUPS = ("dq", "sq", "bare")

_F = re.IGNORECASE


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


RULES: tuple[SecretRule, ...] = (
    # PEM private keys: the body between the markers. A block cut off (an output excerpt)
    # runs to the next blank line or the end, never further.
    SecretRule(
        "private-key",
        _rx(
            r"-----BEGIN [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:\\n|[ \t]*\r?\n|[ \t]+)?"
            r"(?P<secret>(?!\s)(?:(?!\n[ \t]*\n|-----END ).)+?)(?:\\n|\s)*"
            r"(?:-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----|(?=\n[ \t]*\n)|\Z)",
            re.DOTALL,
        ),
        hints=("private key",),
    ),
    # A service-account key file pasted whole: its key id names the credential that leaked
    # (``_id`` keys are otherwise not secrets, see _SECRET_KEY).
    SecretRule(
        "private-key-id",
        _rx(r"[\"']?private_key_id[\"']?\s*[:=]\s*[\"']?(?P<secret>[0-9a-fA-F]{16,64})\b", _F),
        hints=("private_key_id",),
    ),
    SecretRule(
        "jwt",
        _rx(
            r"(?<![A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)"
        ),
        hints=("eyj",),
    ),
    # Long base64 of a JSON object ("{\"..."): ECR login tokens, .dockerconfigjson, service
    # account keys. Shorter ones are usually harmless fragments.
    SecretRule(
        "encoded-credential",
        _rx(r"(?<![A-Za-z0-9+/=_-])(?P<secret>eyJ[A-Za-z0-9+/_-]{80,}={0,2})"),
        hints=("eyj",),
    ),
    SecretRule(
        "aws-access-key-id",
        _rx(
            r"(?<![A-Za-z0-9])(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Za-z0-9])"
        ),
        hints=("akia", "asia", "abia", "acca", "a3t"),
    ),
    SecretRule(
        "aws-secret-access-key",
        _rx(
            r"(?:aws_?secret_?access_?key|secret_?access_?key)[\"']?\s*[:=]?\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            _F,
        ),
        hints=("secret",),
    ),
    SecretRule(
        "github-token",
        _rx(
            r"(?<![A-Za-z0-9_])(?P<secret>gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})"
        ),
        hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    SecretRule(
        "gitlab-token",
        _rx(
            r"(?<![A-Za-z0-9_-])(?P<secret>gl(?:pat|ptt|dt|rt|cbt|oas|soat|ft)-[A-Za-z0-9_-]{20,})"
        ),
        hints=("glpat-", "glptt-", "gldt-", "glrt-", "glcbt-", "gloas-", "glsoat-", "glft-"),
    ),
    SecretRule(
        "slack-webhook",
        _rx(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_-]{8,})"),
        hints=("hooks.slack.com",),
    ),
    SecretRule(
        "slack-token",
        _rx(
            r"(?<![A-Za-z0-9_-])(?P<secret>xox[abposr]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"
        ),
        hints=("xox", "xapp-"),
    ),
    SecretRule(
        "stripe-key",
        _rx(
            r"(?<![A-Za-z0-9_])(?P<secret>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"
        ),
        hints=("sk_", "rk_", "whsec_"),
    ),
    SecretRule(
        "anthropic-key",
        _rx(r"(?<![A-Za-z0-9_-])(?P<secret>sk-ant-[A-Za-z0-9_-]{20,})"),
        hints=("sk-ant-",),
    ),
    SecretRule(
        "openai-key",
        _rx(
            r"(?<![A-Za-z0-9_-])(?P<secret>sk-(?:proj-|svcacct-|admin-)?"
            r"(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,})"
        ),
        hints=("sk-",),
    ),
    SecretRule(
        "google-api-key",
        _rx(r"(?<![A-Za-z0-9_-])(?P<secret>AIza[0-9A-Za-z_-]{35})"),
        hints=("aiza",),
    ),
    SecretRule(
        "npm-token",
        _rx(r"(?<![A-Za-z0-9_])(?P<secret>npm_[A-Za-z0-9]{36})"),
        hints=("npm_",),
    ),
    SecretRule(
        "doppler-token",
        _rx(r"(?<![A-Za-z0-9_])(?P<secret>dp\.(?:st|pt|ct|sa|scim|audit)\.[A-Za-z0-9_.-]{16,})"),
        hints=("dp.",),
    ),
    # Other vendors' prefixed tokens: Vault, SendGrid, PyPI, Docker Hub, Hugging Face, Shopify,
    # Grafana, New Relic, Terraform Cloud, Sentry, Linear, Twilio, Databricks, Pulumi.
    SecretRule(
        "api-token",
        _rx(
            r"(?<![A-Za-z0-9_-])(?P<secret>"
            r"hv[sbr]\.[A-Za-z0-9_-]{20,}"
            r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
            r"|pypi-AgE[A-Za-z0-9_-]{40,}"
            r"|dckr_pat_[A-Za-z0-9_-]{20,}"
            r"|hf_[A-Za-z0-9]{30,}"
            r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"
            r"|gls[ac]_[A-Za-z0-9_+/=-]{32,}"
            r"|NRAK-[A-Z0-9]{27}"
            r"|[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}"
            r"|sntry[su]_[A-Za-z0-9+/=_-]{40,}"
            r"|lin_api_[A-Za-z0-9]{40}"
            r"|SK[0-9a-fA-F]{32}"
            r"|dapi[0-9a-f]{32}"
            r"|pul-[0-9a-f]{40}"
            r")(?![A-Za-z0-9_-])"
        ),
        hints=(
            *("hvs.", "hvb.", "hvr.", "sg.", "pypi-", "dckr_pat_", "hf_", "shp", "gls", "nrak-"),
            *(".atlasv1.", "sntry", "lin_api_", "sk", "dapi", "pul-"),
        ),
    ),
    # Authorization headers, also inside -H "..." and JSON/YAML ("Authorization": "Bearer x").
    SecretRule(
        "authorization",
        _rx(
            r"\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:bearer|basic|token|bot|digest|apikey|negotiate|sso-key)\s+[\"']?)?"
            r"(?P<secret>[^\s\"'`,;]+)",
            _F,
        ),
        hints=("authorization",),
    ),
    SecretRule(
        "bearer-token",
        _rx(r"\bBearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{16,})", _F),
        hints=("bearer",),
    ),
    # scheme://user:PASS@host
    SecretRule(
        "url-password",
        _rx(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"'{}]*:(?P<secret>[^\s@/\"']+)@", _F),
        hints=("://",),
    ),
    # curl -u user:pass / wget --user ... --password handled below
    SecretRule(
        "basic-auth",
        _rx(
            r"\b(?:curl|http|https|xh)\b[^\n|;&]*?\s(?:-u|--user)[\s=]+[\"']?[^\s:'\"]+:"
            r"(?P<secret>[^\s'\"]+)"
        ),
        hints=("-u", "--user"),
    ),
    # mysql -pSECRET (attached form only: "-p value" prompts and names the database),
    # docker/az login -p, sshpass -p, redis-cli -a, ldapsearch -w.
    SecretRule(
        "password",
        _rx(
            r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlsh|mariadb|mariadb-dump)\b"
            r"[^\n|;&]*?(?<=\s)-p(?:" + _DQ + "|" + _SQ + "|" + _BARE + ")"
        ),
        groups=_VALUE_GROUPS,
        hints=("mysql", "mariadb"),
    ),
    SecretRule(
        "password",
        _rx(
            r"\b(?:docker|podman|buildah|helm|oras|skopeo|crane|az)\s+(?:registry\s+)?login\b[^\n|;&]*?\s-p\s+"
            r"(?:" + _DQ + "|" + _SQ + "|" + _BARE + ")"
        ),
        groups=_VALUE_GROUPS,
        hints=("login",),
    ),
    SecretRule(
        "password",
        _rx(
            r"\b(?:sshpass\s+-p|redis-cli\b[^\n|;&]*?\s-a|ldap[a-z]*\b[^\n|;&]*?\s-w)\s*(?:"
            + _DQ
            + "|"
            + _SQ
            + "|"
            + _BARE
            + ")"
        ),
        groups=_VALUE_GROUPS,
        hints=("sshpass", "redis-cli", "ldap"),
    ),
    # openssl -passin pass:SECRET / -passout pass:SECRET
    SecretRule(
        "password",
        _rx(r"(?<![\w-])-pass(?:in|out)?\s+pass:(?:" + _DQ + "|" + _SQ + "|" + _BARE + ")"),
        groups=_VALUE_GROUPS,
        hints=("pass:",),
    ),
    # KEY=value, key: value, "key": "value", --flag=value, ?token=value
    SecretRule(
        "assignment",
        _rx(
            r"(?<![A-Za-z0-9_.-])(?P<key>" + _NAME + r")[\"']?[ \t]*=[ \t]*"
            r"(?:" + _DQ + "|" + _SQ + "|" + _BARE + ")",
            _F,
        ),
        groups=_VALUE_GROUPS,
        named_by="key",
        key_pattern=_KEY_IS_SECRET,
        hints=_KEY_HINTS,
    ),
    SecretRule(
        "assignment",
        _rx(
            # markdown labels too: **Password**: `hunter2`
            r"(?<![A-Za-z0-9_.:/-])(?P<key>" + _NAME + r")(?:[\"']|\*\*|__|`)?[ \t]*:[ \t]*`?"
            r"(?:" + _DQ + "|" + _SQ + "|" + _BARE + ")",
            _F,
        ),
        groups=_VALUE_GROUPS,
        named_by="key",
        key_pattern=_KEY_IS_SECRET,
        hints=_KEY_HINTS,
        weak_ok=False,
    ),
    # --password VALUE, --api-key "VALUE"
    SecretRule(
        "flag",
        _rx(
            r"(?<![A-Za-z0-9_.-])(?P<key>--?[A-Za-z0-9_.-]{1,80})[ \t]+"
            r"(?:"
            + _DQ
            + "|"
            + _SQ
            + r"|(?P<bare>(?![-|&;<>])[^\s\"'`,;&|<>]+?)(?=[).\]]*(?:[\s\"'`,;&|<>]|$)))",
            _F,
        ),
        groups=_VALUE_GROUPS,
        named_by="key",
        key_pattern=_KEY_IS_SECRET,
        hints=_KEY_HINTS,
        flag=True,
    ),
)

_MARKER = re.compile(r"\{redacted:[a-z0-9-]*\}")
# Values that stand for a secret rather than being one.
_PLACEHOLDER = re.compile(
    r"""^(?:
        \{.*\}                      # {token}, {redacted:x}, {{ .Values.password }}
      | \$.*                        # $TOKEN, ${TOKEN}, $(cat file), ${{ secrets.X }}
      | %.*                         # %s, %(password)s, %TOKEN%
      | <.*>                        # <token>, <redacted>
      | \[.*\]                      # [REDACTED], [FILTERED]
      | \(.*\)                      # (redacted)
      | [*xX.•…#?_-]+               # ***, xxxx, ..., …, ???
      | .{0,8}\*{3,}.{0,6}           # partially masked: ****1234, sk-****
      | -----BEGIN.*                # a PEM block, handled by its own rule
      | (?:var|local|data|module|each|self|secrets|vars|env|inputs|steps)\.[\w.\[\]-]+
                                    # references: var.db_password, secrets.TOKEN
      | [A-Za-z_][\w.]*\(.*         # a call: os.getenv("X"), get_secret(
      | (?:os\.environ|process\.env|ENV)\b.*   # os.environ["X"], process.env.X
      | (?i:redacted|masked|hidden|filtered|removed|omitted|secret|password|token|
            none|null|nil|true|false|yes|no|undefined|empty|required|optional|
            string|str|env|stdin|prompt)
    )$""",
    re.VERBOSE | re.DOTALL,
)
# Boolean flags whose name ends in a secret word but take no value.
_FLAG_VERBS = frozenset(
    [
        "no",
        "skip",
        "without",
        "with",
        "ask",
        "prompt",
        "use",
        "require",
        "disable",
        "enable",
        "reset",
        "show",
        "get",
        "print",
        "generate",
        "rotate",
        "create",
        "delete",
        "list",
        "update",
        "read",
        "from",
    ]
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


# Terminal escapes (ECMA-48 / ECMA-35): CSI (colors, cursor moves: ESC [ 1;36 m), OSC (titles,
# hyperlinks, prompt marks: ESC ] ... BEL or ST; an unterminated one ends at the line end),
# DCS/SOS/PM/APC strings, nF sequences such as charset selects (ESC ( B) and the single-char
# Fp/Fe/Fs ones (ESC 7, ESC =, ESC M).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\](?:[^\x07\x1b]*(?:\x07|\x1b\\)|[^\x07\x1b\n]*)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]+[0-~]"
    r"|\x1b[0-~]"
)


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (colors, titles, cursor and charset codes)."""
    # Here because every recorded terminal text is cleaned and then redacted: an escape inside
    # a secret would otherwise split it out of reach of the rules.
    return _ANSI.sub("", text) if "\x1b" in text else text


def redacted_marker(name: str) -> str:
    """The text that replaces a secret: ``{redacted:NAME}``."""
    return "{redacted:" + name + "}"


def is_secret_key(name: str) -> bool:
    """True when a key or parameter name names a secret (``DB_PASSWORD``, ``api-token``, ``pwd``)."""
    # The rule the key=value rules use; a whole name starts at a word boundary, so a bare
    # ``pass`` or ``pwd`` counts as ``_pass`` / ``_pwd`` do inside a longer key.
    return _KEY_IS_SECRET.search("_" + name.strip()) is not None


def _kebab(key: str) -> str:
    key = _CAMEL.sub("-", key.strip("-_. \"'"))
    return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "secret"


def _is_placeholder(value: str) -> bool:
    return not value or bool(_PLACEHOLDER.match(value)) or bool(_MARKER.search(value))


def _looks_secret(value: str) -> bool:
    # For prose-prone spellings ("token: expired"): a real secret has a digit or symbol,
    # or is long.
    return len(value) >= 16 or any(not c.isalpha() for c in value)


def _secret_span(rule: SecretRule, m: re.Match[str]) -> tuple[int, int, str] | None:
    """Where the secret of this match is and what to call it; None when it is not one."""
    group = next((g for g in rule.groups if m.group(g) is not None), None)
    if group is None:
        return None
    value = m.group(group)
    if _is_placeholder(value.strip()):
        return None
    if not rule.weak_ok and group == "bare" and not _looks_secret(value):
        return None
    name = rule.name
    if rule.named_by is not None:
        key = m.group(rule.named_by).rstrip("_.-")  # __Password__: is markdown emphasis
        if rule.key_pattern is not None and not rule.key_pattern.search(key):
            return None
        name = _kebab(key)
        if rule.flag and name.split("-", 1)[0] in _FLAG_VERBS:
            return None
    start, end = m.span(group)
    return start, end, name


def _apply(rule: SecretRule, text: str, found: dict[str, str]) -> tuple[str, int]:
    out: list[str] = []
    count = 0
    pos = 0  # text before pos is already in out
    at = 0  # where the next search starts
    while (m := rule.pattern.search(text, at)) is not None:
        span = _secret_span(rule, m)
        if span is None:
            # A rejected key may hide a real one in its value (--from-literal=password=x):
            # search again right after the key instead of after the whole match.
            at = m.end(rule.named_by) if rule.named_by is not None else m.end()
            at = max(at, m.start() + 1)
            continue
        start, end, name = span
        found.setdefault(text[start:end], name)
        out.append(text[pos:start])
        out.append(redacted_marker(name))
        pos = end
        at = max(m.end(), m.start() + 1)
        count += 1
    if not count:
        return text, 0
    out.append(text[pos:])
    return "".join(out), count


# A value once seen as a secret is redacted wherever else it appears (`export PGPASSWORD=x`,
# then `psql ... x`), when it is long and odd enough not to be an ordinary word.
_ECHO_MIN_CHARS = 8


def _echoes(found: dict[str, str]) -> list[tuple[str, str]]:
    values = [
        (v, n)
        for v, n in found.items()
        if len(v) >= _ECHO_MIN_CHARS and _looks_secret(v) and not _is_placeholder(v)
    ]
    return sorted(values, key=lambda x: (-len(x[0]), x[0]))  # longest first: no partial hits


def _apply_rules(text: str, found: dict[str, str]) -> tuple[str, int]:
    """Every rule over ``text`` in turn; the secrets replaced are added to ``found``."""
    total = 0
    lowered = text.lower()
    for rule in RULES:
        if rule.hints and not any(h in lowered for h in rule.hints):
            continue
        text, n = _apply(rule, text, found)
        if n:
            total += n
            lowered = text.lower()
    return text, total


def secret_values(text: str) -> dict[str, str]:
    """The secret values the rules find in ``text`` (value → marker name), for ``known=``."""
    found: dict[str, str] = {}
    _apply_rules(text, found)
    return found


def redact(text: str, known: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Replace every secret in ``text`` by ``{redacted:NAME}``; return the text and how many.

    ``known`` (value → name, e.g. from ``secret_values`` of a whole document) adds values
    seen elsewhere: they are replaced here too, as is any value a rule finds in ``text``.
    """
    found: dict[str, str] = dict(known or {})
    text, total = _apply_rules(text, found)
    for value, name in _echoes(found):
        if value in text:
            total += text.count(value)
            text = text.replace(value, redacted_marker(name))
    return text, total


def contains_secret(text: str) -> bool:
    """True when ``redact`` would replace something in ``text``."""
    return redact(text)[1] > 0

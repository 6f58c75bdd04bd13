"""Parameters: which slot values vary across runs, their names, and the display text.

A slot is a ``{placeholder}`` in a token's template (normalize's masking) or a literal token
that differs between merged variants (``--namespace team-a`` / ``team-b``). A slot whose
observed value is identical in every run is rendered literally (a constant is never a
placeholder); a varying slot becomes ``{name}``. Slots of different commands that carry the
same value within each run (the commit SHA built, tagged and pushed) share one name.
Sample token: template ``registry/api:{sha}`` + text ``registry/api:c403818`` -> ``c403818``.
"""

from __future__ import annotations

import re
import shlex
from functools import lru_cache

from runbook.model import Token

__all__ = [
    "GENERIC_SLOTS",
    "flag_name",
    "render_token",
    "slot_names",
    "slot_spans",
    "slot_values",
    "token_slots",
    "token_template",
]

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_:.-]*)\}")
# Slot names too vague to name a parameter when a flag says more.
GENERIC_SLOTS = frozenset(
    {
        "number",
        "num",
        "int",
        "integer",
        "value",
        "id",
        "arg",
        "string",
        "word",
        "n",
        "hex",
        "path",
        "name",
    }
)
_SHORT_FLAGS = {
    "-n": "namespace", "-t": "tag", "-f": "file", "-r": "region", "-c": "command",
    "-e": "environment", "-u": "user", "-h": "host", "-p": "port", "-d": "database",
    "-i": "image", "-l": "selector", "-v": "version", "-m": "message", "-b": "branch",
}  # fmt: skip


def token_template(token: Token) -> str:
    """The token as it appears in the key (hand-built tokens: their quoted text)."""
    if token.template:
        return token.template
    if token.slot:
        return "{" + token.slot + "}"
    return shlex.quote(token.text) if token.text else "''"


@lru_cache(maxsize=4096)
def _template_regex(template: str) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    names = tuple(m.group(1) for m in _PLACEHOLDER.finditer(template))
    if not names:
        return None, ()
    try:
        parts = shlex.split(template)
        body = parts[0] if len(parts) == 1 else template
    except ValueError:
        body = template
    pieces: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(body):
        pieces.append(_literal(body[last : m.start()]))
        pieces.append("(.+?)" if m.end() < len(body) else "(.+)")
        last = m.end()
    pieces.append(_literal(body[last:]))
    return re.compile("".join(pieces) + r"\Z", re.DOTALL), names


def _literal(text: str) -> str:
    # Keys collapse white space (a heredoc body's line breaks, runs of spaces): any run of it
    # in the text stands for one space of the template.
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text))


def slot_names(template: str) -> tuple[str, ...]:
    """Placeholder names in one token template, in order."""
    return _template_regex(template)[1]


def token_slots(token: Token) -> tuple[str, ...]:
    """Placeholder names of a masked token; () for literal tokens (even ones with braces)."""
    return slot_names(token_template(token)) if token.slot else ()


def slot_values(token: Token) -> tuple[str, ...]:
    """The original values behind each placeholder of the token (aligned with token_slots)."""
    if not token.slot:
        return ()
    template = token_template(token)
    regex, names = _template_regex(template)
    if regex is None:
        return ()
    m = regex.match(token.text)
    if m is None:
        # Template and text disagree (quoting): the whole token stands for the first slot.
        return (token.text,) + ("",) * (len(names) - 1)
    return tuple(m.groups())


def slot_spans(token: Token) -> tuple[tuple[int, int], ...] | None:
    """Where each placeholder's value sits in ``token.text`` (aligned with token_slots).

    None when the template does not match the text (then the values are not located).
    """
    if not token.slot:
        return ()
    regex, names = _template_regex(token_template(token))
    if regex is None:
        return ()
    m = regex.match(token.text)
    if m is None:
        return None
    return tuple(m.span(i + 1) for i in range(len(names)))


def flag_name(prev: str | None, token_text: str) -> str | None:
    """Parameter name implied by ``--flag value`` / ``--flag=value`` / ``KEY=value``."""
    if "=" in token_text:
        head = token_text.split("=", 1)[0]
        if head.startswith("--") and len(head) > 2:
            return _kebab(head[2:])
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", head):
            return _kebab(head)
    if prev is not None and prev.startswith("-") and "=" not in prev:
        if prev.startswith("--") and len(prev) > 2:
            return _kebab(prev[2:])
        return _SHORT_FLAGS.get(prev)
    return None


def _kebab(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "value"


def render_token(template: str, names: tuple[str, ...], values: tuple[str | None, ...]) -> str:
    """Fill a token template: ``None`` keeps ``{names[i]}``, a string is a constant value."""
    out: list[str] = []
    last = 0
    for i, m in enumerate(_PLACEHOLDER.finditer(template)):
        out.append(template[last : m.start()])
        value = values[i] if i < len(values) else None
        out.append("{" + names[i] + "}" if value is None else value)
        last = m.end()
    out.append(template[last:])
    return "".join(out)

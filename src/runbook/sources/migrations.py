"""Schema migration files: Flyway, golang-migrate, dbmate, goose, Alembic and plain numbered SQL.

Sample input (``db/migrations/V3__drop_legacy_email.sql``, Flyway naming):
``ALTER TABLE users DROP COLUMN legacy_email;``

Each file yields one ``MigrationDef`` half (``direction`` "up" or "down") or a complete one
(dbmate/goose files and Alembic revisions hold both halves); ``link_migrations`` pairs the
halves across a folder and orders them. SQL is split here (quotes, comments and dollar quotes
respected, so line numbers survive) and each statement is classified with sqlglot; a statement
sqlglot cannot parse is kept verbatim, classified by keywords, and reported as a Diagnostic.
Alembic revisions are read with ``ast`` and never imported or executed.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from runbook.config import Config
from runbook.model import Diagnostic, EvidenceKind, MigrationDef, ParsedFile, SourceRef

# sqlglot logs "unsupported syntax, falling back to Command" for DO blocks and the like;
# the fallback is handled here, so the log line is noise on the user's stderr.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_FLYWAY = re.compile(r"^(?P<kind>[VU])(?P<version>\d[\w.]*?)__(?P<name>.+)\.sql$", re.I)
_FLYWAY_REPEATABLE = re.compile(r"^R__(?P<name>.+)\.sql$", re.I)
_GOLANG = re.compile(r"^(?P<version>\d+)_(?P<name>.+?)\.(?P<dir>up|down)\.sql$", re.I)
_NUMBERED = re.compile(r"^(?P<version>\d+)(?:[_-](?P<name>.+?))?\.sql$", re.I)
_DBMATE_MARK = re.compile(r"^[ \t]*--[ \t]*migrate:(up|down)\b.*$", re.I | re.M)
_GOOSE_MARK = re.compile(r"^[ \t]*--[ \t]*\+goose[ \t]+(up|down)\b.*$", re.I | re.M)
_TRANSACTION_ONLY = re.compile(
    r"^(?:begin(?:\s+transaction|\s+work)?|start\s+transaction|commit(?:\s+work)?|end|rollback)$",
    re.I,
)
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_]\w*)?\$")
_MAX_STATEMENTS = 5000  # a generated dump is not a migration; keep memory bounded


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement and the 1-based line it starts on."""

    text: str
    line: int
    op: str = ""  # Alembic operation name ("drop_column") when the statement is an op.* call


@dataclass(frozen=True, slots=True)
class Risk:
    """What a list of statements does that a runbook must warn about."""

    destructive: tuple[str, ...] = ()
    locking: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------ SQL splitting


def split_sql(text: str, first_line: int = 1) -> list[Statement]:
    """Split SQL on top-level ``;`` keeping quotes, comments and ``$tag$`` bodies intact."""
    out: list[Statement] = []
    buf: list[str] = []
    line = first_line
    start_line: int | None = None
    i, n = 0, len(text)

    def flush() -> None:
        stmt = "".join(buf).strip()
        body = _strip_sql_comments(stmt).strip()
        if body and not _TRANSACTION_ONLY.match(body) and start_line is not None:
            out.append(Statement(body, start_line))
        buf.clear()

    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            buf.append(text[i:end])
            i = end
            continue
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = text[i:end]
            line += chunk.count("\n")
            buf.append(chunk)
            i = end
            continue
        if start_line is None and not ch.isspace():
            start_line = line  # comments before a statement are not its first line
        if ch in "'\"`":
            end = i + 1
            while end < n:
                if text[end] == ch:
                    if end + 1 < n and text[end + 1] == ch:  # doubled quote escapes itself
                        end += 2
                        continue
                    break
                end += 1
            chunk = text[i : end + 1]
            line += chunk.count("\n")
            buf.append(chunk)
            i = end + 1
            continue
        if ch == "$":
            m = _DOLLAR_TAG.match(text, i)
            if m:
                tag = m.group(0)
                end = text.find(tag, i + len(tag))
                end = n if end < 0 else end + len(tag)
                chunk = text[i:end]
                line += chunk.count("\n")
                buf.append(chunk)
                i = end
                continue
        if ch == ";":
            flush()
            start_line = None
            if len(out) >= _MAX_STATEMENTS:
                return out
            i += 1
            continue
        buf.append(ch)
        i += 1
    flush()
    return out


def _strip_sql_comments(stmt: str) -> str:
    """Drop whole-line ``--`` comments and leading block comments (kept out of statement text)."""
    lines = [ln for ln in stmt.split("\n") if not ln.strip().startswith("--")]
    body = "\n".join(lines).strip()
    while body.startswith("/*") and "*/" in body:
        body = body[body.index("*/") + 2 :].strip()
    return body


# ------------------------------------------------------------------ classification


def _dialect(sql: str) -> str:
    """A cheap dialect guess: backticks and ENGINE= are MySQL, everything else PostgreSQL."""
    if "`" in sql or re.search(r"\bENGINE\s*=|\bAUTO_INCREMENT\b", sql, re.I):
        return "mysql"
    return "postgres"


def _short(text: str, limit: int = 200) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _table_name(node: exp.Expression | None) -> str:
    if node is None:
        return "?"
    table = node.find(exp.Table) if not isinstance(node, exp.Table) else node
    return table.sql() if table is not None else node.sql()


def classify_statements(
    stmts: Sequence[Statement], rel: str
) -> tuple[Risk, tuple[Diagnostic, ...]]:
    """Destructive and locking statements (with reasons), parsing each with sqlglot."""
    destructive: list[str] = []
    locking: list[str] = []
    notes: list[str] = []
    diags: list[Diagnostic] = []
    for st in stmts:
        try:
            parsed = sqlglot.parse_one(st.text, read=_dialect(st.text))
        except (SqlglotError, ValueError, RecursionError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            diags.append(
                Diagnostic(
                    SourceRef(rel, st.line),
                    f"SQL not understood, classified by keywords: {_short(first, 120)}",
                )
            )
            parsed = None
        if isinstance(parsed, exp.Expression) and not isinstance(parsed, exp.Command):
            d, lk, ns = _classify_tree(parsed)
        else:
            d, lk, ns = _classify_by_keywords(st.text)
        if d:
            destructive.append(st.text)
        if lk:
            locking.append(st.text)
        notes.extend(f"line {st.line}: {n}" for n in ns)
    return Risk(tuple(destructive), tuple(locking), tuple(notes)), tuple(diags)


def _classify_tree(node: exp.Expression) -> tuple[bool, bool, list[str]]:
    """(destructive, locking, reasons) for one parsed statement."""
    notes: list[str] = []
    destructive = locking = False
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        target = _table_name(node.this or node.find(exp.Table))
        if kind in ("TABLE", "SCHEMA", "DATABASE"):
            destructive = locking = True
            notes.append(f"DROP {kind} {target} destroys data")
        elif kind == "INDEX" and not node.args.get("concurrently"):
            locking = True
            notes.append(f"DROP INDEX {target} without CONCURRENTLY locks the table")
    elif isinstance(node, exp.TruncateTable):
        destructive = locking = True
        notes.append("TRUNCATE deletes every row")
    elif isinstance(node, (exp.Delete, exp.Update)):
        verb = "DELETE" if isinstance(node, exp.Delete) else "UPDATE"
        if node.args.get("where") is None:
            destructive = True
            notes.append(f"{verb} without WHERE touches every row of {_table_name(node.this)}")
        else:
            notes.append(f"{verb} rewrites rows of {_table_name(node.this)}: back them up first")
    elif isinstance(node, exp.Alter):
        table = _table_name(node.this)
        locking = True
        notes.append(f"ALTER TABLE {table} takes an ACCESS EXCLUSIVE lock")
        for action in node.args.get("actions") or []:
            if isinstance(action, exp.Drop):
                destructive = True
                notes.append(f"ALTER TABLE {table} {action.sql()}: the data is lost")
            elif isinstance(action, exp.ColumnDef):
                constraints = [c.sql().upper() for c in action.args.get("constraints") or []]
                if any(c.startswith("DEFAULT") for c in constraints):
                    notes.append(
                        f"ADD COLUMN {action.name} with DEFAULT rewrites {table} before PostgreSQL 11"
                    )
                if any("NOT NULL" in c for c in constraints) and not any(
                    c.startswith("DEFAULT") for c in constraints
                ):
                    notes.append(
                        f"ADD COLUMN {action.name} NOT NULL without DEFAULT fails on a non-empty table"
                    )
            elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                notes.append(f"changing the type of {action.name} rewrites {table}")
            elif isinstance(action, exp.RenameColumn):
                notes.append(f"renaming a column of {table} breaks code still using the old name")
            elif isinstance(action, exp.AlterRename):
                notes.append(f"renaming {table} breaks code still using the old name")
    elif isinstance(node, exp.Create):
        kind = str(node.args.get("kind") or "").upper()
        if kind == "INDEX" and not node.args.get("concurrently"):
            locking = True
            notes.append("CREATE INDEX without CONCURRENTLY blocks writes to the table")
    return destructive, locking, notes


_KW_DESTRUCTIVE = (
    (re.compile(r"\bDROP\s+(?:TABLE|SCHEMA|DATABASE)\b", re.I), "DROP destroys data"),
    (re.compile(r"\bDROP\s+COLUMN\b", re.I), "DROP COLUMN destroys data"),
    (re.compile(r"\bTRUNCATE\b", re.I), "TRUNCATE deletes every row"),
    (re.compile(r"\bDELETE\s+FROM\s+[\w.\"`]+\s*(?:;|$)", re.I), "DELETE without WHERE"),
)
_KW_LOCKING = (
    (re.compile(r"\bALTER\s+TABLE\b", re.I), "ALTER TABLE takes an ACCESS EXCLUSIVE lock"),
    (
        re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b(?!\s+CONCURRENTLY)", re.I),
        "CREATE INDEX without CONCURRENTLY blocks writes",
    ),
)


def _classify_by_keywords(sql: str) -> tuple[bool, bool, list[str]]:
    """Fallback for statements sqlglot cannot parse (DO blocks, vendor syntax)."""
    # string bodies (DO $$ ... $$) may hold real DDL, so they are searched too
    notes: list[str] = []
    destructive = locking = False
    for rx, why in _KW_DESTRUCTIVE:
        if rx.search(sql):
            destructive = True
            notes.append(why)
    for rx, why in _KW_LOCKING:
        if rx.search(sql):
            locking = True
            notes.append(why)
    return destructive, locking, notes


# ------------------------------------------------------------------ file formats


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """Read one migration file (SQL or Alembic revision) into MigrationDef halves."""
    del config  # no settings apply yet; the signature is the reader contract
    name = PurePosixPath(rel).name
    if name.endswith(".py"):
        defs, diags = _parse_alembic(text, rel)
    else:
        defs, diags = _parse_sql_file(text, rel, name)
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.MIGRATION_FILE,
        migrations=tuple(defs),
        diagnostics=tuple(sorted(diags, key=lambda d: (d.source, d.message))),
    )


def _build(
    version: str,
    name: str,
    rel: str,
    tool: str,
    up: Sequence[Statement],
    down: Sequence[Statement] | None,
    *,
    direction: str = "",
    down_line: int = 1,
    repeatable: bool = False,
) -> tuple[MigrationDef, list[Diagnostic]]:
    """A MigrationDef with its risks classified; ``down is None`` means this file has no down half."""
    up_risk, d1 = classify_statements(up, rel)
    down_risk, d2 = classify_statements(down or (), rel)
    first = up[0].line if up else (down[0].line if down else 1)
    return (
        MigrationDef(
            version=version,
            name=name,
            source=SourceRef(rel, first if direction != "down" else 0),
            tool=tool,
            up_statements=tuple(s.text for s in up),
            down_statements=tuple(s.text for s in down or ()),
            down_source=SourceRef(rel, down_line) if down is not None else None,
            destructive=up_risk.destructive,
            locking=up_risk.locking,
            reversible=bool(down),
            direction=direction,
            repeatable=repeatable,
            down_destructive=down_risk.destructive,
            notes=up_risk.notes,
        ),
        [*d1, *d2],
    )


def _humanize(slug: str) -> str:
    return re.sub(r"[_\-]+", " ", slug).strip()


def _parse_sql_file(text: str, rel: str, name: str) -> tuple[list[MigrationDef], list[Diagnostic]]:
    if m := _FLYWAY.match(name):
        version = m.group("version").replace("_", ".")
        stmts = split_sql(text)
        if m.group("kind").upper() == "U":
            d, diags = _build(
                version, _humanize(m.group("name")), rel, "flyway", (), stmts, direction="down",
                down_line=stmts[0].line if stmts else 1,
            )  # fmt: skip
        else:
            d, diags = _build(
                version, _humanize(m.group("name")), rel, "flyway", stmts, None, direction="up"
            )
        return [d], diags
    if m := _FLYWAY_REPEATABLE.match(name):
        d, diags = _build(
            "",
            _humanize(m.group("name")),
            rel,
            "flyway",
            split_sql(text),
            None,
            direction="up",
            repeatable=True,
        )
        return [d], diags
    if m := _GOLANG.match(name):
        stmts = split_sql(text)
        version, title = m.group("version"), _humanize(m.group("name"))
        if m.group("dir").lower() == "down":
            d, diags = _build(
                version, title, rel, "golang-migrate", (), stmts, direction="down",
                down_line=stmts[0].line if stmts else 1,
            )  # fmt: skip
        else:
            d, diags = _build(version, title, rel, "golang-migrate", stmts, None, direction="up")
        return [d], diags
    if m := _NUMBERED.match(name):
        version, title = m.group("version"), _humanize(m.group("name") or "")
        for tool, marks in (("dbmate", _DBMATE_MARK), ("goose", _GOOSE_MARK)):
            sections = _marked_sections(text, marks)
            if sections is not None:
                up_stmts, down_stmts, down_line = sections
                d, diags = _build(
                    version,
                    title,
                    rel,
                    tool,
                    up_stmts,
                    down_stmts if down_line else None,
                    down_line=down_line or 1,
                )
                return [d], diags
        d, diags = _build(version, title, rel, "plain", split_sql(text), None, direction="up")
        return [d], diags
    return [], [
        Diagnostic(
            SourceRef(rel),
            "not a recognized migration file name (Flyway V1__x.sql, NNN_x.up.sql, NNN_x.sql)",
        )
    ]


def _marked_sections(
    text: str, marks: re.Pattern[str]
) -> tuple[list[Statement], list[Statement], int] | None:
    """Up and down statements of a dbmate/goose file, and the down marker line (0 if none)."""
    found = list(marks.finditer(text))
    if not found:
        return None
    up: list[Statement] = []
    down: list[Statement] = []
    down_line = 0
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(text)
        line = text.count("\n", 0, m.start()) + 1
        body = text[m.end() : end]
        # goose wraps plpgsql in StatementBegin/End; the markers are comments to the splitter
        stmts = split_sql(body, first_line=line)
        if m.group(1).lower() == "up":
            up.extend(stmts)
        else:
            down.extend(stmts)
            down_line = down_line or line
    return up, down, down_line


# ------------------------------------------------------------------ Alembic


def _parse_alembic(text: str, rel: str) -> tuple[list[MigrationDef], list[Diagnostic]]:
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None) or 0
        msg = getattr(exc, "msg", None) or str(exc)
        return [], [
            Diagnostic(SourceRef(rel, line), f"Python migration not parsable: {msg}", "error")
        ]
    assigns: dict[str, object] = {}
    funcs: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.FunctionDef):
            funcs[node.name] = node
        for t in targets:
            if isinstance(t, ast.Name) and value is not None:
                try:
                    assigns[t.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    continue
    revision = assigns.get("revision")
    if not isinstance(revision, str) or "upgrade" not in funcs:
        if PurePosixPath(rel).name in ("env.py", "__init__.py"):
            return [], []
        return [], [Diagnostic(SourceRef(rel), "no Alembic `revision` and `upgrade()` found")]
    parent = assigns.get("down_revision")
    depends: tuple[str, ...] = ()
    if isinstance(parent, str):
        depends = (parent,)
    elif isinstance(parent, (tuple, list)):
        depends = tuple(sorted(str(p) for p in parent if p))
    doc = ast.get_docstring(tree) or ""
    title = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    if not title:
        stem = PurePosixPath(rel).stem
        title = _humanize(stem.split("_", 1)[1] if "_" in stem else stem)
    up_ops, up_sql, diags = _alembic_ops(funcs["upgrade"], rel)
    down_fn = funcs.get("downgrade")
    down_ops: list[Statement] = []
    down_sql: list[Statement] = []
    if down_fn is not None:
        down_ops, down_sql, d2 = _alembic_ops(down_fn, rel)
        diags.extend(d2)
    up_risk, d3 = classify_statements(up_sql, rel)
    down_risk, d4 = classify_statements(down_sql, rel)
    up_op_risk = _alembic_op_risk(up_ops)
    down_op_risk = _alembic_op_risk(down_ops)
    up_all = sorted([*up_ops, *up_sql], key=lambda s: s.line)
    down_all = sorted([*down_ops, *down_sql], key=lambda s: s.line)
    migration = MigrationDef(
        version=revision,
        name=title,
        source=SourceRef(rel, funcs["upgrade"].lineno),
        tool="alembic",
        up_statements=tuple(s.text for s in up_all),
        down_statements=tuple(s.text for s in down_all),
        down_source=SourceRef(rel, down_fn.lineno) if down_fn is not None else None,
        destructive=_ordered(up_all, {*up_risk.destructive, *up_op_risk.destructive}),
        locking=_ordered(up_all, {*up_risk.locking, *up_op_risk.locking}),
        reversible=bool(down_all),
        depends_on=depends,
        down_destructive=_ordered(down_all, {*down_risk.destructive, *down_op_risk.destructive}),
        notes=(*up_op_risk.notes, *up_risk.notes),
    )
    return [migration], [*diags, *d3, *d4]


def _ordered(stmts: Sequence[Statement], chosen: set[str]) -> tuple[str, ...]:
    return tuple(s.text for s in stmts if s.text in chosen)


_OP_DESTRUCTIVE = frozenset({"drop_table", "drop_column"})
_OP_LOCKING = frozenset(
    {
        "add_column",
        "alter_column",
        "drop_column",
        "drop_table",
        "create_foreign_key",
        "create_unique_constraint",
        "create_check_constraint",
        "create_primary_key",
        "drop_constraint",
        "rename_table",
    }
)


def _alembic_ops(
    fn: ast.FunctionDef, rel: str
) -> tuple[list[Statement], list[Statement], list[Diagnostic]]:
    """``op.*`` calls (as source text) and the SQL of ``op.execute`` in a function body."""
    ops: list[Statement] = []
    sql: list[Statement] = []
    diags: list[Diagnostic] = []
    batch_names: dict[str, str] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and _op_method(call, {"op"}) == "batch_alter_table"
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    table = _const_str(call.args[0]) if call.args else None
                    batch_names[item.optional_vars.id] = table or "?"
    receivers = {"op", *batch_names}
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        method = _op_method(node, receivers)
        if method is None or method in ("batch_alter_table", "get_bind", "get_context"):
            continue
        if method == "execute":
            body = _const_str(node.args[0]) if node.args else None
            if body is None:
                ops.append(Statement(_short(ast.unparse(node), 400), node.lineno))
                diags.append(
                    Diagnostic(
                        SourceRef(rel, node.lineno),
                        "op.execute with computed SQL: kept as written, not classified",
                    )
                )
                continue
            sql.extend(split_sql(body, first_line=node.lineno))
            continue
        text = ast.unparse(node)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if isinstance(receiver, ast.Name) and receiver.id in batch_names:
            text = f"op.batch_alter_table({batch_names[receiver.id]!r}).{text.split('.', 1)[1]}"
        ops.append(Statement(_short(text, 400), node.lineno, method))
    return ops, sql, diags


def _op_method(call: ast.Call, receivers: set[str]) -> str | None:
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in receivers
    ):
        return func.attr
    return None


def _const_str(node: ast.expr) -> str | None:
    """A string literal, also inside ``sa.text("...")`` / ``text("...")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args:
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if name == "text":
            return _const_str(node.args[0])
    return None


def _alembic_op_risk(ops: Sequence[Statement]) -> Risk:
    destructive: list[str] = []
    locking: list[str] = []
    notes: list[str] = []
    for st in ops:
        method = st.op
        if method in _OP_DESTRUCTIVE:
            destructive.append(st.text)
            notes.append(f"line {st.line}: {method} destroys data")
        if method in _OP_LOCKING:
            locking.append(st.text)
            notes.append(f"line {st.line}: {method} alters a table under an exclusive lock")
        elif method == "create_index" and "concurrently=True" not in st.text.replace(" ", ""):
            locking.append(st.text)
            notes.append(
                f"line {st.line}: create_index without postgresql_concurrently blocks writes"
            )
        if method == "add_column" and "server_default" in st.text:
            notes.append(
                f"line {st.line}: add_column with server_default rewrites the table before PostgreSQL 11"
            )
    return Risk(tuple(destructive), tuple(locking), tuple(notes))


# ------------------------------------------------------------------ linking


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: ``1.10`` after ``1.9``; numbers before words."""
    parts = re.split(r"[._\-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def link_migrations(defs: Sequence[MigrationDef]) -> tuple[MigrationDef, ...]:
    """Merge up/down halves of the same migration and order each folder by version or revision chain."""
    folders: dict[tuple[str, str], list[MigrationDef]] = {}
    for d in defs:
        folder = str(PurePosixPath(d.source.path).parent)
        folders.setdefault((folder, d.tool), []).append(d)
    out: list[MigrationDef] = []
    for key in sorted(folders):
        merged = _merge_halves(folders[key])
        if key[1] == "alembic":
            out.extend(_alembic_order(merged))
        else:
            out.extend(
                sorted(
                    merged,
                    key=lambda d: (d.repeatable, _version_key(d.version), d.name, d.source),
                )
            )
    return tuple(out)


def _merge_halves(defs: Sequence[MigrationDef]) -> list[MigrationDef]:
    ups: dict[str, MigrationDef] = {}
    rest: list[MigrationDef] = []
    downs: list[MigrationDef] = []
    for d in sorted(defs, key=lambda d: (d.source, d.version)):
        if d.direction == "up" and not d.repeatable and d.version not in ups:
            ups[d.version] = d
        elif d.direction == "down":
            downs.append(d)
        else:
            rest.append(d)
    orphans: list[MigrationDef] = []
    for down in downs:
        up = ups.get(down.version)
        if up is None:
            orphans.append(down)
            continue
        ups[down.version] = replace(
            up,
            down_statements=down.down_statements,
            down_source=down.down_source,
            down_destructive=down.down_destructive,
            reversible=bool(down.down_statements),
            direction="",
        )
    complete = [replace(u, direction="") for u in (*ups.values(), *rest)]
    return [*complete, *orphans]


def _alembic_order(defs: Sequence[MigrationDef]) -> list[MigrationDef]:
    """Topological order of the revision chain (ties and cycles broken by revision id)."""
    by_rev = {d.version: d for d in sorted(defs, key=lambda d: d.source)}
    placed: set[str] = set()
    out: list[MigrationDef] = []
    pending = sorted(by_rev)
    while pending:
        ready = [
            r for r in pending if all(p in placed or p not in by_rev for p in by_rev[r].depends_on)
        ]
        if not ready:  # a cycle: place the smallest id to make progress
            ready = [pending[0]]
        for r in ready:
            out.append(by_rev[r])
            placed.add(r)
        pending = [r for r in pending if r not in placed]
    return out

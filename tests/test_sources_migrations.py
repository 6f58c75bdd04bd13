"""Migration folders: Flyway, golang-migrate, dbmate, Alembic, plain numbered SQL."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, MigrationDef
from runbook.sources.migrations import link_migrations, parse, split_sql

DATA = Path(__file__).parent / "data" / "machine" / "migrations"
ROOT = DATA.parent.parent.parent.parent


def _read(folder: str) -> tuple[list[MigrationDef], list[str]]:
    defs: list[MigrationDef] = []
    diags: list[str] = []
    for path in sorted((DATA / folder).rglob("*")):
        if path.is_file():
            rel = path.relative_to(DATA).as_posix()
            pf = parse(path.read_text(encoding="utf-8"), rel, Config())
            assert pf.kind is EvidenceKind.MIGRATION_FILE
            defs.extend(pf.migrations)
            diags.extend(str(d.source) + " " + d.message for d in pf.diagnostics)
    return defs, diags


def _by_version(defs: tuple[MigrationDef, ...]) -> dict[str, MigrationDef]:
    return {d.version: d for d in defs}


def test_flyway_versions_order_undo_and_repeatable_last() -> None:
    defs, diags = _read("flyway")
    linked = link_migrations(defs)
    assert [d.version for d in linked] == ["1", "1.1", "2", "10", ""]
    assert linked[-1].repeatable and linked[-1].name == "refresh order stats view"
    v = _by_version(linked)
    # U1_1 undo file pairs with V1_1
    assert v["1.1"].reversible
    assert v["1.1"].down_statements == ("DROP INDEX idx_orders_status",)
    assert v["1.1"].down_source is not None
    assert v["1.1"].down_source.path == "flyway/U1_1__add_orders_status_index.sql"
    assert v["1.1"].locking == ("CREATE INDEX idx_orders_status ON orders (status)",)
    # V2 destroys data and has no undo
    assert not v["2"].reversible
    assert v["2"].destructive == (
        "ALTER TABLE customers DROP COLUMN legacy_email",
        "DELETE FROM audit_log",
    )
    assert v["2"].source.line == 2  # the leading block comment is not the statement
    assert any("DELETE without WHERE" in n for n in v["2"].notes)
    # an UPDATE with WHERE is not destructive; the DO block is classified by keywords
    assert v["10"].up_statements[0].startswith("UPDATE orders SET status")
    assert len(v["10"].destructive) == 1 and v["10"].destructive[0].startswith("DO $$")
    assert all(d.direction == "" for d in linked)
    assert diags == []


def test_golang_migrate_pairs_up_and_down_with_crlf() -> None:
    defs, _ = _read("golang")
    linked = link_migrations(defs)
    assert [d.version for d in linked] == ["000001", "000002", "000003"]
    v = _by_version(linked)
    assert v["000001"].tool == "golang-migrate"
    assert v["000001"].reversible
    assert v["000001"].down_destructive == ("DROP TABLE IF EXISTS users",)
    assert v["000002"].locking == ()  # CONCURRENTLY avoids the write lock
    # BEGIN/COMMIT wrappers are not statements; the missing down is reported as not reversible
    assert v["000003"].up_statements == (
        "TRUNCATE TABLE sessions",
        "ALTER TABLE users ADD COLUMN last_login timestamptz NOT NULL",
    )
    assert v["000003"].destructive == ("TRUNCATE TABLE sessions",)
    assert not v["000003"].reversible and v["000003"].down_source is None
    assert any("NOT NULL without DEFAULT" in n for n in v["000003"].notes)


def test_dbmate_sections_and_quoted_semicolon() -> None:
    defs, _ = _read("dbmate")
    linked = link_migrations(defs)
    assert [d.version for d in linked] == ["20240102120000", "20240301093000"]
    first, second = linked
    assert first.tool == "dbmate" and first.reversible
    assert len(first.up_statements) == 1 and "'it''s; fine'" in first.up_statements[0]
    assert first.down_statements == ("drop table invoices",)
    assert first.down_source is not None and first.down_source.line == 8
    # an empty "-- migrate:down" section is no rollback
    assert not second.reversible
    assert second.locking == (
        "alter table invoices add column currency char(3) not null default 'EUR'",
    )
    assert any("DEFAULT rewrites" in n for n in second.notes)


def test_alembic_chain_ops_and_syntax_error() -> None:
    defs, diags = _read("alembic")
    linked = link_migrations(defs)
    assert [d.version for d in linked] == ["1a2b3c4d5e6f", "5c6d7e8f9a0b", "9f8e7d6c5b4a"]
    first, second, third = linked
    assert first.name == "create accounts table" and first.depends_on == ()
    assert first.reversible and first.down_destructive == ("op.drop_table('accounts')",)
    assert second.depends_on == ("1a2b3c4d5e6f",)
    assert "op.create_index('ix_accounts_email', 'accounts', ['email'], unique=True)" in (
        second.locking
    )
    # batch_alter_table drop_column and op.execute SQL are both destructive; `pass` is no downgrade
    assert third.destructive == (
        "op.batch_alter_table('accounts').drop_column('nickname')",
        "DELETE FROM staging_accounts",
    )
    assert not third.reversible
    assert third.source.line == 17
    assert diags == [
        "alembic/versions/0bad0bad0bad_syntax_error.py:8 Python migration not parsable: "
        "'(' was never closed"
    ]


def test_plain_numbered_and_bad_sql_is_a_diagnostic() -> None:
    defs, diags = _read("plain")
    linked = link_migrations(defs)
    assert [(d.version, d.tool) for d in linked] == [
        ("001", "plain"),
        ("002", "plain"),
        ("003", "plain"),
    ]
    assert linked[1].destructive == ("DROP TABLE widgets",)
    assert any("DROP TABLE widgets destroys data" in n for n in linked[1].notes)
    assert linked[2].up_statements == ("ALTER TABLE gadgets ADD COLUMN (((", "SELECT 1")
    assert len(diags) == 1 and diags[0].startswith("plain/db/migrations/003_broken.sql:1 SQL")


def test_unrecognized_name_and_env_py() -> None:
    pf = parse("SELECT 1;", "db/schema.sql", Config())
    assert pf.migrations == () and "not a recognized migration" in pf.diagnostics[0].message
    env = parse("from alembic import context\n", "alembic/env.py", Config())
    assert env.migrations == () and env.diagnostics == ()


def test_orphan_down_is_kept_and_link_is_deterministic() -> None:
    down = parse("DROP TABLE x;", "m/000007_x.down.sql", Config()).migrations
    up = parse("CREATE TABLE y (id int);", "m/000008_y.up.sql", Config()).migrations
    linked = link_migrations([*up, *down])
    assert [(d.version, d.direction) for d in linked] == [("000007", "down"), ("000008", "")]
    assert link_migrations([*down, *up]) == linked


def test_split_sql_lines_comments_and_dollar_quotes() -> None:
    sql = (
        "-- header\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
        "\n"
        "/* c; */ INSERT INTO t VALUES ('a;b');\n"
        "select $1;"
    )
    stmts = split_sql(sql)
    assert [(s.line, s.text) for s in stmts] == [
        (2, "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql"),
        (4, "INSERT INTO t VALUES ('a;b')"),
        (5, "select $1"),
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abc ;'\"$-/*\n()\tDROPTABLE_1")), max_size=200),
    st.sampled_from(["V1__a.sql", "001_a.up.sql", "002_b.sql", "x/versions/abc_x.py"]),
)
def test_fuzz_never_crashes(text: str, name: str) -> None:
    pf = parse(text, name, Config())
    for d in pf.migrations:
        assert d.source.path == name
    link_migrations(pf.migrations)

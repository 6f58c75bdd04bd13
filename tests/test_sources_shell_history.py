"""Shell histories: only operational sessions survive, with their timings."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Outcome
from runbook.sources.shell_history import (
    detect_format,
    is_operational_change,
    parse,
    parse_path,
)

DATA = Path(__file__).parent / "data" / "machine" / "history"
PERSONAL = ("spotify", "sourdough", "youtube", "groceries", "brew upgrade", "dinner", "photos")


def _parse(name: str, config: Config | None = None):  # type: ignore[no-untyped-def]
    text = (DATA / name).read_text(encoding="utf-8")
    pf = parse(text, f"home/{name}", config or Config())
    assert pf.kind is EvidenceKind.SHELL_HISTORY
    everything = " ".join(c.text for e in pf.executions for c in e.commands)
    for word in PERSONAL:
        assert word not in everything, word
    return pf


def test_detect_format() -> None:
    assert detect_format((DATA / "zsh_history").read_text()) == "zsh"
    assert detect_format((DATA / "fish_history").read_text()) == "fish"
    assert detect_format((DATA / "bash_history_timestamped").read_text()) == "bash-timestamped"
    assert detect_format((DATA / "plain_bash_history").read_text()) == "bash"


def test_bash_timestamped_sessions_keep_only_operations() -> None:
    pf = _parse("bash_history_timestamped")
    deploy, rollback = pf.executions
    assert deploy.id == "home/bash_history_timestamped#1"
    assert [c.text for c in deploy.commands] == [
        "cd ~/src/platform",
        "git pull --ff-only",
        "export KUBECONFIG=~/.kube/prod",
        "kubectl get pods -n checkout",
        "helm upgrade checkout charts/checkout -n checkout --set image.tag=v2.14.0 --wait --timeout 5m",
        "kubectl rollout status deploy/checkout -n checkout",
        "curl -fsS https://checkout.example.com/healthz",
    ]
    assert deploy.started_at == datetime(2025, 1, 5, 9, 59, 50)
    assert deploy.duration_s == 270.0
    assert deploy.commands[4].source.line == 18
    assert deploy.commands[4].started_at == datetime(2025, 1, 5, 10, 0, 22)
    assert deploy.outcome is Outcome.UNKNOWN  # bash records no exit codes
    # an investigation with reads only (kubectl get/logs) is not an operation
    assert [c.text for c in rollback.commands] == [
        "kubectl rollout undo deploy/checkout -n checkout",
        "kubectl rollout status deploy/checkout -n checkout",
    ]


def test_idle_gap_is_configurable() -> None:
    text = (DATA / "bash_history_timestamped").read_text(encoding="utf-8")
    pf = parse(text, "h", replace(Config(), history_idle_gap_s=4 * 3600))
    # with a 4 h gap the morning deploy, the reads and the rollback are one session
    assert len(pf.executions) == 1
    texts = [c.text for c in pf.executions[0].commands]
    assert "vim ~/.bashrc" in texts  # inside the span, kept for the miner's noise filter
    assert texts[-1] == "kubectl rollout status deploy/checkout -n checkout"


def test_zsh_extended_history_with_durations_and_continuations() -> None:
    pf = _parse("zsh_history")
    (run,) = pf.executions
    assert run.id == "home/zsh_history"
    assert [c.text for c in run.commands] == [
        "cd ~/src/platform/infra",
        "terraform init -upgrade",
        "terraform plan -out=tfplan",
        "terraform apply tfplan",
        "aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names api-prod "
        "--query 'AutoScalingGroups[0].DesiredCapacity'",
        "aws autoscaling set-desired-capacity --auto-scaling-group-name api-prod "
        "--desired-capacity 12",
    ]
    assert [c.duration_s for c in run.commands] == [1.0, 2.0, 41.0, 95.0, 0.0, 1.0]
    assert run.commands[5].source.line == 10
    assert run.started_at == datetime(2025, 1, 6, 10, 0, 0)
    assert run.finished_at == datetime(2025, 1, 6, 10, 4, 1)


def test_zsh_multiline_command_keeps_newlines() -> None:
    text = ": 1736157960:4;for n in 1 2; do\\\n  helm rollback api 3\\\ndone\n"
    (run,) = parse(text, "h", Config()).executions
    assert run.commands[0].text == "for n in 1 2; do\n  helm rollback api 3\ndone"


def test_fish_history_unescapes_and_keeps_checks() -> None:
    pf = _parse("fish_history")
    (run,) = pf.executions
    texts = [c.text for c in run.commands]
    assert texts[0] == "cd ~/work/api"
    assert "alembic upgrade head" in texts
    assert texts[-1] == "for i in (seq 3)\n  curl -s https://api.example.com/healthz\nend"
    assert run.commands[3].text.startswith("pg_dump -Fc")
    assert run.commands[3].source.line == 7
    assert run.started_at == datetime(2025, 1, 8, 9, 0, 0)


def test_plain_bash_history_blocks_without_times() -> None:
    pf = _parse("plain_bash_history")
    first, second = pf.executions
    assert [c.text for c in first.commands] == [
        "cd ~/deploy",
        "git pull",
        "./deploy.sh production v1.8.3",
        "kubectl get pods -n web",
        "curl -I https://www.example.com",
    ]
    assert first.started_at is None and first.duration_s is None
    assert [c.text for c in second.commands] == ["./deploy.sh production v1.8.4"]
    assert second.source.line == 18


def test_history_without_operations_yields_nothing() -> None:
    pf = parse("ls\ncd src\nvim notes.md\ngit commit -am wip\n", "h", Config())
    assert pf.executions == ()


def test_malformed_zsh_lines_are_counted() -> None:
    text = ": 1736157700:95;terraform apply tfplan\ngarbage line\n: notanumber;x\n"
    pf = parse(text, "z", Config())
    assert len(pf.executions) == 1
    assert pf.diagnostics[0].message.startswith("2 line(s) not in zsh history format")


def _atuin_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE history (id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, "
        "duration INTEGER NOT NULL, exit INTEGER NOT NULL, command TEXT NOT NULL, "
        "cwd TEXT NOT NULL, session TEXT NOT NULL, hostname TEXT NOT NULL, deleted_at INTEGER)"
    )
    s = 1_000_000_000
    t0 = 1_736_500_000 * s
    rows = [
        ("a1", t0, 20_000_000, 0, "ls", "/home/ana", "sess-1", "laptop:ana", None),
        ("a2", t0 + 5 * s, 3 * s, 0, "kubectl config use-context prod", "/home/ana", "sess-1", "laptop:ana", None),
        ("a3", t0 + 12 * s, 61 * s, 1, "kubectl apply -f k8s/api.yaml", "/home/ana/api", "sess-1", "laptop:ana", None),
        ("a4", t0 + 90 * s, 2 * s, 0, "kubectl describe deploy api", "/home/ana/api", "sess-1", "laptop:ana", None),
        ("a5", t0 + 120 * s, 40 * s, 0, "kubectl apply -f k8s/api.yaml", "/home/ana/api", "sess-1", "laptop:ana", None),
        # same minute, another terminal: a separate session
        ("b1", t0 + 30 * s, s, 0, "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "/home/ana", "sess-2", "laptop:ana", None),
        ("b2", t0 + 40 * s, 8 * s, 0, "./scripts/deploy.sh staging", "/home/ana/web", "sess-2", "laptop:ana", None),
        ("c1", t0 + 50 * s, s, 0, "terraform destroy -auto-approve", "/tmp", "sess-3", "laptop:ana", 1),
        ("d1", t0 + 60 * s, s, 0, "echo hi", "/tmp", "sess-4", "laptop:ana", None),
    ]  # fmt: skip
    conn.executemany("INSERT INTO history VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


def test_atuin_database_sessions_exit_codes_and_redaction(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    _atuin_db(db)
    pf = parse_path(db, ".local/share/atuin/history.db", Config())
    assert pf.diagnostics == ()
    assert len(pf.executions) == 2  # sess-3 is deleted, sess-4 has no operation
    api, web = pf.executions  # ordered by start time
    assert [c.text for c in api.commands][:2] == ["ls", "kubectl config use-context prod"]
    assert [c.exit_code for c in api.commands] == [0, 0, 1, 0, 0]
    assert api.commands[2].duration_s == 61.0 and api.commands[2].cwd == "/home/ana/api"
    assert api.outcome is Outcome.SUCCESS  # the last apply worked
    assert [e.message for e in api.errors] == ["exit code 1"]
    assert api.errors[0].command == "kubectl apply -f k8s/api.yaml"
    assert api.duration_s == 160.0
    assert api.context == "host: laptop:ana"
    assert api.source.line == 1 and web.id == ".local/share/atuin/history.db#2"
    assert "ghp_" not in web.commands[0].text and pf.redactions == 1
    assert web.commands[1].text == "./scripts/deploy.sh staging"


def test_atuin_bad_database(tmp_path: Path) -> None:
    db = tmp_path / "atuin.db"
    db.write_bytes(b"not a database at all" * 10)
    pf = parse_path(db, "atuin.db", Config())
    assert pf.executions == () and pf.diagnostics[0].level == "error"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    pf2 = parse_path(empty, "empty.db", Config())
    assert "no atuin `history` table" in pf2.diagnostics[0].message


def test_is_operational_change() -> None:
    changes = [
        "sudo -u deploy kubectl apply -f x.yaml",
        "timeout 300 helm upgrade api ./chart",
        "aws lambda update-function-code --function-name x --zip-file fileb://f.zip",
        "./scripts/deploy.sh prod",
        "make deploy ENV=prod",
        "npm run deploy:prod",
        "psql -f migrate.sql",
        "python manage.py migrate",
        "docker push registry/app:1",
        "doppler run -- alembic upgrade head",
    ]
    reads = [
        "kubectl get pods",
        "aws s3 ls",
        "aws ecs describe-services --cluster c",
        "terraform plan",
        "make test",
        "vim deploy.yaml",
        "grep rollout notes.txt",
        'psql -c "select 1"',
    ]
    assert all(is_operational_change(c) for c in changes)
    assert not any(is_operational_change(c) for c in reads)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.sampled_from(list(": ;#-\\\nabc0123456789")), max_size=30),
            st.sampled_from(
                [
                    ": 1736157700:95;helm upgrade a b",
                    "#1736157700",
                    "- cmd: kubectl apply -f x",
                    "  when: 1736157700",
                    "kubectl rollout undo deploy/x",
                ]
            ),
        ),
        max_size=30,
    )
)
def test_fuzz_never_crashes(lines: list[str]) -> None:
    pf = parse("\n".join(lines), "h", Config())
    for e in pf.executions:
        assert e.commands and any(is_operational_change(c.text) for c in e.commands)


def test_build_and_test_steps_before_the_change_belong_to_the_run() -> None:
    # zsh: the deploy itself is `aws s3 sync`; the five build/test steps before it change
    # nothing, but were run in one go with it. The editor session before them was not.
    t = 1_750_000_000
    rows = [
        (t, 300, "vim src/components/Cart.tsx"),
        (t + 900, 40, "npm ci"),
        (t + 945, 12, "npm run lint"),
        (t + 960, 55, "npm test -- --watchAll=false"),
        (t + 1020, 70, "npm run build"),
        (t + 1095, 9, "npm audit --omit=dev --audit-level=high"),
        (t + 1110, 20, "aws s3 sync dist/ s3://shop-web-prod --delete"),
        (t + 1135, 3, "aws cloudfront create-invalidation --distribution-id E2ABC --paths '/*'"),
        (t + 1140, 95, "npx playwright test --project=smoke"),
        (t + 1300, 1, "spotify play"),
    ]
    text = "".join(f": {at}:{secs};{cmd}\n" for at, secs, cmd in rows)
    pf = parse(text, "home/.zsh_history", Config())
    [ex] = pf.executions
    got = [c.text for c in ex.commands]
    assert got[0] == "npm ci" and got[-1] == "npx playwright test --project=smoke"
    assert len(got) == 8
    assert not any("vim" in c or "spotify" in c for c in got)


def test_repository_scripts_after_the_change_are_its_checks() -> None:
    t = 1_750_000_000
    rows = [
        (t, 200, "helm upgrade api charts/api -n prod --wait"),
        (t + 205, 30, "./scripts/smoke.sh https://api.example.com"),
        (t + 240, 2, "kubectl logs deploy/api -n prod --since=10m | grep -c ERROR"),
        (t + 250, 1, "open https://news.ycombinator.com"),
    ]
    pf = parse("".join(f": {a}:{d};{c}\n" for a, d, c in rows), "h/.zsh_history", Config())
    assert [c.text.split()[0] for c in pf.executions[0].commands] == [
        "helm",
        "./scripts/smoke.sh",
        "kubectl",
    ]


@pytest.mark.parametrize(
    "command",
    [
        "pt-online-schema-change --alter 'ADD INDEX ix_ref (ref)' D=shop,t=orders --execute",
        "kafka-reassign-partitions.sh --bootstrap-server b:9092 --reassignment-json-file r.json --execute",
        "cmctl renew api-tls -n prod",
        "az webapp deployment slot swap -g rg -n shop --slot staging",
        "nomad job scale batch-export worker 4",
    ],
)  # fmt: skip
def test_operations_of_tools_outside_the_table_are_changes(command: str) -> None:
    assert is_operational_change(command)


@pytest.mark.parametrize(
    "command", ["brew upgrade", "git commit -am 'release notes'", "pip install -U deploy-tools"]
)
def test_personal_tools_are_never_operations(command: str) -> None:
    assert not is_operational_change(command)


def test_a_vendors_admin_cli_before_the_change_is_part_of_the_run() -> None:
    t = 1_750_000_000
    rows = [
        (t, 600, "vim reassignment.json"),
        (t + 900, 3, "kafka-topics.sh --bootstrap-server b:9092 --describe --topic orders"),
        (t + 910, 2, "kafka-reassign-partitions.sh --bootstrap-server b:9092 --reassignment-json-file r.json --execute"),
        (t + 920, 20, "kafka-reassign-partitions.sh --bootstrap-server b:9092 --reassignment-json-file r.json --verify"),
    ]  # fmt: skip
    pf = parse("".join(f": {a}:{d};{c}\n" for a, d, c in rows), "h/.zsh_history", Config())
    assert [c.text.split()[0] for c in pf.executions[0].commands] == [
        "kafka-topics.sh",
        "kafka-reassign-partitions.sh",
        "kafka-reassign-partitions.sh",
    ]


def test_the_ticket_filed_right_after_the_fix_is_part_of_the_run() -> None:
    t = 1_750_000_000
    rows = [
        (t, 20, "cmctl renew api-example-net-tls -n shop"),
        (t + 25, 2, "kubectl -n shop get certificate api-example-net-tls"),
        (t + 60, 3, 'jira issue create --project OPS --type Incident --summary "TLS renewal failed" --no-input'),
    ]  # fmt: skip
    pf = parse("".join(f": {a}:{d};{c}\n" for a, d, c in rows), "h/.zsh_history", Config())
    assert pf.executions[0].commands[-1].text.startswith("jira issue create")

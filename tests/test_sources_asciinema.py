"""asciinema casts: terminal replay, prompts, timings and exit codes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Execution, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.asciinema import Terminal, parse

ROOT = Path(__file__).parent / "data" / "machine"


def _read(rel: str) -> ParsedFile:
    parsed = read_evidence(ROOT / rel, ROOT, EvidenceKind.CAST, Config())
    assert isinstance(parsed, ParsedFile), parsed
    return parsed


def _cast(events: list[list[object]], version: int = 2, **header: object) -> str:
    head: dict[str, object] = {"version": version, "width": 80, "height": 24, **header}
    return "\n".join([json.dumps(head), *(json.dumps(e) for e in events)]) + "\n"


def _one(pf: ParsedFile) -> Execution:
    assert len(pf.executions) == 1, pf.diagnostics
    return pf.executions[0]


def test_v2_cast_with_colors_typos_and_echo_status() -> None:
    pf = _read("casts/deploy-checkout.cast")
    assert pf.diagnostics == ()
    run = _one(pf)
    assert run.kind is EvidenceKind.CAST and run.title == "checkout deploy v2.15.0"
    assert run.started_at == datetime(2025, 3, 11, 14, 1, 40, 350000)
    assert [c.text for c in run.commands] == [
        "kubectl get pods -n checkout",  # "chekc" + 3 backspaces + "eckout"
        "helm upgrade checkout charts/checkout -n checkout --set image.tag=v2.15.0 "
        "--wait --timeout 5m",
        "kubectl rollout status deploy/checkout -n checkout",
        "curl -fsS https://checkout.example.com/healthz",
        "vim values.yaml",
    ]  # "echo $?" and "exit" are not steps
    get, helm, rollout, curl, vim = run.commands
    assert get.output.startswith("NAME ") and "\x1b" not in get.output
    assert get.started_at == datetime(2025, 3, 11, 14, 1, 43, 220000)
    assert get.duration_s == 0.92
    assert helm.duration_s == 88.51 and helm.exit_code is None
    assert rollout.exit_code == 0 and rollout.duration_s == 46.01
    assert curl.exit_code == 22
    assert vim.output == ""  # the alternate screen is not output
    assert run.outcome is Outcome.FAILURE  # the last known status is curl's 22
    assert [e.message for e in run.errors] == ["curl: (22) The requested URL returned error: 503"]
    assert get.source.line == 2 and get.origin == "prompt" and get.cwd == "~/checkout"


def test_v3_cast_with_intervals_shell_integration_and_exit_event() -> None:
    run = _one(_read("casts/migrate-accounts.v3.cast"))
    assert run.started_at == datetime(2025, 3, 12, 14, 0, 0, 50000)
    up, down, check = run.commands
    assert (up.text, up.exit_code) == ("alembic upgrade head", 255)
    assert (down.text, down.exit_code) == ("alembic downgrade -1", 0)
    assert check.text == "psql -c 'select version_num from alembic_version'"
    # the two-line prompt's first line is not the previous command's output
    assert check.output.endswith("(1 row)")
    assert up.started_at == datetime(2025, 3, 12, 14, 0, 1, 500000)
    assert up.duration_s == 13.58
    assert run.errors[0].message.startswith("ERROR [alembic.util.messaging]")
    assert run.notes == ("recording exit status: 0",)
    assert run.outcome is Outcome.SUCCESS


def test_prompt_styles_and_exit_code_in_prompt() -> None:
    events: list[list[object]] = [
        [0.1, "o", "$ "],
        [0.5, "o", "make deploy\r\n"],
        [3.0, "o", "Error: deploy failed\r\n"],
        [3.1, "o", "[2] $ "],
        [3.5, "o", "make rollback\r\n"],
        [9.5, "o", "[0] $ "],
    ]
    run = _one(parse(_cast(events), "c.cast", Config()))
    assert [(c.text, c.exit_code, c.duration_s) for c in run.commands] == [
        ("make deploy", 2, 2.6),
        ("make rollback", 0, 6.0),
    ]
    assert run.started_at is None and run.commands[0].started_at is None  # no header timestamp


def test_arrow_and_user_host_prompts() -> None:
    events: list[list[object]] = [
        [0.1, "o", "➜  infra git:(main) ✗ terraform apply tfplan\r\n"],
        [5.0, "o", "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\r\n"],
        [5.1, "o", "➜  infra git:(main) ✗ "],
    ]
    run = _one(parse(_cast(events, timestamp=1700000000), "a.cast", Config()))
    assert [c.text for c in run.commands] == ["terraform apply tfplan"]
    events = [
        [0.1, "o", "[ana@web01 app]$ sudo systemctl restart nginx\r\n"],
        [1.0, "o", "[ana@web01 app]$ "],
    ]
    run = _one(parse(_cast(events), "b.cast", Config()))
    assert [(c.text, c.cwd) for c in run.commands] == [("sudo systemctl restart nginx", "app")]


def test_terminal_replay_details() -> None:
    term = Terminal()
    term.feed("Downloading  10%\rDownloading  55%\rDownloading 100%\r\n", 1.0, 2)
    term.feed("abc\x1b[2Dx\r\n", 1.5, 3)  # cursor left twice, overwrite
    term.feed("hello world\x1b[5D\x1b[K\r\n", 2.0, 4)  # erase to end of line
    term.feed("split \x1b[3", 2.5, 5)  # an escape cut between events
    term.feed("1mred\x1b[0m\r\n", 2.6, 6)
    term.feed("tab\there\r\n", 3.0, 7)
    term.commit(4.0)
    assert [ln.text for ln in term.lines] == [
        "Downloading 100%",
        "axc",
        "hello",
        "split red",
        "tab     here",
    ]
    assert term.lines[3].start == 2.5 and term.lines[3].end == 2.6


def test_v1_cast() -> None:
    doc = {
        "version": 1,
        "width": 80,
        "height": 24,
        "duration": 2.5,
        "stdout": [[0.2, "$ "], [0.3, "kubectl scale deploy/api --replicas=6\r\n"], [2.0, "$ "]],
    }
    run = _one(parse(json.dumps(doc, indent=2), "old.cast", Config()))
    assert [(c.text, c.duration_s) for c in run.commands] == [
        ("kubectl scale deploy/api --replicas=6", 2.0)
    ]


def test_malformed_casts() -> None:
    text = _cast([[0.1, "o", "$ "], [0.2, "o", "helm rollback api 3\r\n"], [1.0, "o", "$ "]])
    text = text.rstrip("\n") + '\n[1.5, "o", "trunc'  # recording cut mid-event
    text = text.replace('[0.2, "o"', '[0.2 "o"', 1)  # a corrupted line in the middle
    pf = parse(text, "bad.cast", Config())
    assert [d.source.line for d in pf.diagnostics] == [3, 5]
    assert pf.diagnostics[0].message == "malformed event line skipped"
    assert pf.executions == () or all(c.text for c in pf.executions[0].commands)
    assert parse("", "e.cast", Config()).diagnostics[0].message == "empty cast"
    nohead = parse('not json\n[1, "o", "x"]\n', "h.cast", Config())
    assert nohead.diagnostics[0].message.startswith("cast header is not JSON")
    v9 = parse('{"version": 9}\n', "v.cast", Config())
    assert "unsupported cast version 9" in v9.diagnostics[0].message
    quiet = parse(_cast([[0.1, "o", "just output\r\n"]]), "q.cast", Config())
    assert quiet.executions == () and "no shell prompt" in quiet.diagnostics[0].message


def test_hash_comment_lines_are_not_root_prompts() -> None:
    events: list[list[object]] = [
        [0.1, "o", "$ cat deploy.sh\r\n"],
        [0.2, "o", "# Deploy the api\r\nset -e\r\n"],
        [0.3, "o", "$ "],
    ]
    run = _one(parse(_cast(events), "h.cast", Config()))
    assert [c.text for c in run.commands] == ["cat deploy.sh"]
    assert run.commands[0].output == "# Deploy the api\nset -e"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=5, allow_nan=False),
            st.text(
                alphabet=st.sampled_from(list("$ #>\r\n\b\x1b[]0123;mKAC?h\\ab❯")), max_size=20
            ),
        ),
        max_size=30,
    ),
    st.sampled_from([2, 3]),
)
def test_fuzz_never_crashes(events: list[tuple[float, str]], version: int) -> None:
    pf = parse(_cast([[t, "o", d] for t, d in events], version), "f.cast", Config())
    for run in pf.executions:
        assert all(c.text.strip() for c in run.commands)
        assert all(c.duration_s is None or c.duration_s >= 0 for c in run.commands)


def test_secret_typed_one_key_at_a_time_is_redacted() -> None:
    # Real recordings echo each keystroke as its own event, so no event holds the whole
    # secret and the on-the-way-in redaction of the file text cannot see it.
    secret = "Zq8sPl4xWv2Rk9"
    typed = f'psql "postgresql://migrator:{secret}@orders-db:5432/orders" -c "select 1"'
    events: list[list[object]] = [[0.2, "o", "ops@bastion:~/db$ "]]
    t = 1.0
    for ch in typed:
        events.append([round(t, 3), "o", ch])
        t += 0.05
    events += [
        [t + 0.1, "o", "\r\n"],
        [t + 0.5, "o", "export API_TOKEN=" + "\r\n"],
        [t + 0.6, "o", "password" + "=" + secret[:5]],
        [t + 0.7, "o", secret[5:] + "\r\n"],
        [t + 1.0, "o", "ops@bastion:~/db$ "],
    ]
    pf = parse(_cast(events, title=f"db with {secret}"), "ops/casts/db.cast", Config())
    ex = _one(pf)
    blob = repr(pf)
    assert secret not in blob
    assert ex.commands[0].text.startswith('psql "postgresql://migrator:')
    assert pf.redactions >= 2


def test_exit_marks_without_output_marks_keep_every_output() -> None:
    # Some shells emit only OSC 133;D;N (command finished) and no 133;A/B/C zone marks.
    events: list[list[object]] = [
        [0.1, "o", "ops@bastion:~/app$ "],
        [0.5, "o", "helm rollback api 44 --wait\r\n"],
        [3.0, "o", "Error: timed out waiting for the condition\r\n"],
        [3.1, "o", "\x1b]133;D;1\x07"],
        [3.2, "o", "ops@bastion:~/app$ "],
        [4.0, "o", "kubectl rollout status deploy/api\r\n"],
        [6.0, "o", 'deployment "api" successfully rolled out\r\n'],
        [6.1, "o", "\x1b]133;D;0\x07"],
        [6.2, "o", "ops@bastion:~/app$ "],
    ]
    ex = _one(parse(_cast(events, version=2), "ops/casts/r.cast", Config()))
    assert [(c.exit_code, c.output) for c in ex.commands] == [
        (1, "Error: timed out waiting for the condition"),
        (0, 'deployment "api" successfully rolled out'),
    ]


def test_a_header_typed_in_chunks_reads_as_in_a_history(tmp_path: Path) -> None:
    # Redacting the raw event stream would see `Authorization: B` in one event and cut the
    # "B" off "Bearer"; the recording is redacted after replay instead, like a history line.
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMiLCJleHAiOjE3NjAwMDB9.c2lnbmF0dXJlX3ZhbHVlX2hlcmU"
    typed = f'curl -sf -H "Authorization: Bearer {jwt}" https://api.example.com/health'
    cut = typed.index("Bearer") + 1
    events: list[list[object]] = [
        [0.1, "o", "ops@bastion:~$ "],
        [1.0, "o", typed[:cut]],
        [1.5, "o", typed[cut:]],
        [2.0, "o", "\r\n"],
        [2.5, "o", "ok\r\n"],
        [3.0, "o", "ops@bastion:~$ "],
    ]
    (tmp_path / "c.cast").write_text(_cast(events))
    got = read_evidence(tmp_path / "c.cast", tmp_path, EvidenceKind.CAST, Config())
    assert isinstance(got, ParsedFile)
    [cmd] = got.executions[0].commands
    assert jwt not in repr(got)
    assert cmd.text.startswith('curl -sf -H "Authorization: Bearer {redacted:')

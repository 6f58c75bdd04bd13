"""`runbook run` engine with fakes: gates, skip, quit, verification, rollback, destructive
confirmation, dry run, --from-step, parameter shapes and shell-injection safety."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook import api
from runbook.config import Config
from runbook.errors import ExitStatus, UsageError
from runbook.execute import (
    RunIO,
    RunOptions,
    Session,
    destructive_kind,
    destructive_target,
    infer_shape,
    param_examples,
    parse_params,
    substitute,
)
from runbook.model import EvidenceKind
from runbook.observe import Captured, run_captured
from runbook.runbook_parse import parse_runbook
from runbook.sources import read_evidence

RUNBOOK = """\
# Runbook: Deployment - demo

**Estimated Duration**: ~1 minute

## Procedure

### Step 1: Build the image

**Purpose**: Produce the artifact

**Command**:
```sh
docker build -t app:{tag} .
```

**Parameters**:
- `{tag}` — observed: `v1.4.2`, `v1.5.0`

**Expected Duration**: ~5 s (median of 3 runs; p90 40 s)

**Verification**:
```sh
docker image inspect app:{tag}
```

**Expected**: `"RepoTags": ["app:{tag}"]`

### Step 2: Drop the old table

**Command**:
```sh
psql -c "DROP TABLE old_events"
```

### Step 3: Smoke test

**Command**:
```sh
dr test smoke
```

**If Failed**:
- Check: the smoke test output for the failing endpoint
- Fallback: stop and follow the Rollback Procedure

## Rollback Procedure

### Rollback Steps

#### Step 1: Revert to the previous image

```sh
deploy --image app:{previous-tag}
```

## Troubleshooting

### Issue 1: Smoke tests fail after deploy

**Signature**: `FAILED tests/smoke/test_reports.py::test_generate_report - AssertionError`

**Symptoms**:
- `FAILED tests/smoke/test_reports.py::test_generate_report`

**Cause**: The report endpoint returns 500.

**Solution**:
```sh
deploy --image app:{previous-tag}
```

### Issue 2: Disk full

**Symptoms**:
- `No space left on device`

**Cause**: the build cache.
"""


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 5, 10, 0, 0)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@dataclass
class Fake:
    """Scripted answers, collected narrative, and a runner answering from a table."""

    answers: list[str] = field(default_factory=list)
    results: dict[str, list[Captured]] = field(default_factory=dict)
    interactive: bool = True
    said: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    ran: list[tuple[str, float]] = field(default_factory=list)
    shown: list[bytes] = field(default_factory=list)

    def ask(self, question: str) -> str:
        self.asked.append(question)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def run(
        self, command: str, timeout: float, on_output: Callable[[bytes, bool], None]
    ) -> Captured:
        self.ran.append((command, timeout))
        queue = next((v for k, v in self.results.items() if k in command), None)
        result = queue.pop(0) if queue and len(queue) > 1 else (queue[0] if queue else None)
        result = result or Captured(0, "ok", 0.1)
        on_output(result.output.encode(), False)
        return result

    def io(self) -> RunIO:
        return RunIO(
            ask=self.ask,
            say=self.said.append,
            show_output=self.shown.append,
            runner=self.run,
            now=FakeClock(),
            interactive=self.interactive,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.said)

    @property
    def commands(self) -> list[str]:
        return [c for c, _t in self.ran]


INSPECT_OK = Captured(0, '[{"RepoTags": ["app:v1.5.0"]}]', 0.2)


def session(fake: Fake, text: str = RUNBOOK, **options: object) -> Session:
    opts = RunOptions(**options)  # type: ignore[arg-type]
    s = Session(parse_runbook(text, "rb.md"), text, opts, fake.io())
    s.prepare()
    return s


def test_all_gates_yes_runs_every_step_and_verification() -> None:
    fake = Fake(answers=["y", "y", "old_events", "y"], results={"inspect": [INSPECT_OK]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.OK
    assert [r.status for r in result.steps] == ["passed", "passed", "passed"]
    assert fake.commands == [
        "docker build -t app:v1.5.0 .",
        "docker image inspect app:v1.5.0",
        'psql -c "DROP TABLE old_events"',
        "dr test smoke",
    ]
    assert "verification passed" in fake.text
    assert "Purpose: Produce the artifact" in fake.text


def test_steps_are_listed_and_placeholder_is_asked() -> None:
    fake = Fake(answers=["1.0 bad", "v2.0.0", "q"])
    s = session(fake)
    assert s.state.values == {"tag": "v2.0.0"}
    assert "1. Build the image" in fake.text and "3. Smoke test" in fake.text
    assert any("{tag}" in q and "v1.4.2" in q for q in fake.asked)
    assert "should be a version like v1.4.2" in fake.text  # the bad value was refused
    assert s.execute(None).status is ExitStatus.DECLINED


def test_skip_then_continue() -> None:
    fake = Fake(answers=["s", "s", "y"])
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.OK
    assert [r.status for r in result.steps] == ["skipped", "skipped", "passed"]
    assert fake.commands == ["dr test smoke"]


def test_quit_is_exit_3_and_nothing_more_runs() -> None:
    fake = Fake(answers=["y", "q"], results={"inspect": [INSPECT_OK]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.DECLINED
    assert [r.status for r in result.steps] == ["passed", "not-run", "not-run"]
    assert len(fake.commands) == 2


def test_end_of_input_at_a_gate_is_a_quit() -> None:
    fake = Fake(answers=[])
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.DECLINED
    assert fake.commands == []


def test_failed_step_shows_if_failed_and_matching_troubleshooting() -> None:
    failing = Captured(
        1,
        "collected 3 items\nFAILED tests/smoke/test_reports.py::test_generate_report - "
        "AssertionError: status 500\n1 failed, 2 passed",
        3.0,
    )
    fake = Fake(answers=["s", "s", "y", "s"], results={"dr test": [failing]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.FINDINGS
    assert result.steps[-1].status == "failed"
    assert "Check: the smoke test output for the failing endpoint" in fake.text
    assert "Troubleshooting (matches this error): Smoke tests fail after deploy" in fake.text
    assert "Cause: The report endpoint returns 500." in fake.text
    assert "Disk full" not in fake.text  # an entry that does not match is not shown
    assert "roll[b]ack" in fake.asked[-1]


def test_verification_without_expected_text_fails() -> None:
    wrong = Captured(0, '[{"RepoTags": ["app:v1.4.2"]}]', 0.2)
    fake = Fake(answers=["y", "s"], results={"inspect": [wrong]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.FINDINGS
    assert "lacks the expected" in fake.text


def test_retry_after_failure() -> None:
    fake = Fake(
        answers=["y", "r", "s", "s"],
        results={"docker build": [Captured(1, "No space left on device", 1.0), INSPECT_OK]},
    )
    fake.results["inspect"] = [INSPECT_OK]
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.OK
    assert fake.commands.count("docker build -t app:v1.5.0 .") == 2
    assert "Disk full" in fake.text


def test_rollback_runs_rollback_steps_with_gates() -> None:
    fake = Fake(
        answers=["s", "s", "y", "b", "v1.4.2", "y"],
        results={"dr test": [Captured(1, "boom", 1.0)]},
    )
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.FINDINGS
    assert result.rolled_back
    assert fake.commands == ["dr test smoke", "deploy --image app:v1.4.2"]
    assert "Rollback Procedure" in fake.text


def test_destructive_needs_the_target_typed_even_with_yes() -> None:
    fake = Fake(answers=["events"])
    result = session(fake, params=(("tag", "v1.5.0"),), yes=True, from_step=2).execute(None)
    assert result.status is ExitStatus.DECLINED
    assert fake.commands == []
    assert "Type 'old_events' to confirm" in fake.asked[-1]

    fake = Fake(answers=["old_events"])
    result = session(fake, params=(("tag", "v1.5.0"),), yes=True, from_step=2).execute(None)
    assert result.status is ExitStatus.OK
    assert fake.commands == ['psql -c "DROP TABLE old_events"', "dr test smoke"]


def test_destructive_without_a_terminal_is_refused_even_with_yes() -> None:
    fake = Fake(interactive=False)
    result = session(fake, params=(("tag", "v1.5.0"),), yes=True, from_step=2).execute(None)
    assert result.status is ExitStatus.DECLINED
    assert fake.commands == []
    assert "needs 'old_events' typed" in fake.text


def test_no_terminal_without_yes_is_a_usage_error() -> None:
    fake = Fake(interactive=False)
    with pytest.raises(UsageError, match="not a terminal"):
        session(fake, params=(("tag", "v1.5.0"),))


def test_missing_param_without_terminal_names_it() -> None:
    fake = Fake(interactive=False)
    with pytest.raises(UsageError, match=r"\{tag\}"):
        session(fake, yes=True)


def test_bad_param_shape_is_refused() -> None:
    with pytest.raises(UsageError, match="should be a version"):
        session(Fake(), params=(("tag", "latest; rm -rf /"),))


def test_dry_run_prints_without_running() -> None:
    fake = Fake()
    s = session(fake, params=(("tag", "v1.5.0"),), dry_run=True)
    text = s.dry_run()
    assert fake.ran == [] and fake.asked == []
    assert "docker build -t app:v1.5.0 ." in text
    assert "# verify: docker image inspect app:v1.5.0" in text
    assert "DESTRUCTIVE (DROP): asks to type 'old_events'" in text
    assert "# timeout: 120 s" in text  # p90 40 s x 3


def test_dry_run_names_missing_values() -> None:
    text = session(Fake(), dry_run=True).dry_run()
    assert "docker build -t app:{tag} ." in text
    assert "no value given for {tag}" in text


def test_from_step_resumes() -> None:
    fake = Fake(answers=["y"])
    result = session(fake, from_step=3).execute(None)
    assert result.status is ExitStatus.OK
    assert fake.commands == ["dr test smoke"]
    assert fake.asked == ["Run step 3? [y]es / [s]kip / [q]uit: "]  # no {tag} prompt


def test_from_step_out_of_range() -> None:
    with pytest.raises(UsageError, match="--from-step 9"):
        session(Fake(), from_step=9)


def test_interrupted_command_is_130() -> None:
    fake = Fake(answers=["y"], results={"docker build": [Captured(130, "", 1.0, interrupted=True)]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.INTERRUPTED
    assert result.outcome == "aborted"


def test_timeout_uses_p90_times_margin_with_a_floor() -> None:
    fake = Fake(answers=["y", "s", "y"], results={"inspect": [INSPECT_OK]})
    session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert fake.ran[0][1] == 120.0  # p90 40 s x 3
    assert fake.ran[-1][1] == 600.0  # no duration stated: the default
    fake = Fake(answers=["y"])
    session(fake, params=(("tag", "v1.5.0"),), timeout_s=5.0, from_step=3).execute(None)
    assert fake.ran[0][1] == 5.0


# ---------------------------------------------------------------------- shell safety

INJECTION_RUNBOOK = """\
# Runbook: Deployment - injection

## Procedure

### Step 1: Echo the tag

```sh
echo {tag} > plain.txt
echo "tag={tag}" > double.txt
echo 'tag={tag}' > single.txt
```
"""

HOSTILE = [
    "x; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "x' ; touch PWNED; echo '",
    'x" ; touch PWNED; echo "',
    "x && touch PWNED",
    "x | tee PWNED",
    '\\"; touch PWNED #',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_param_injection_creates_no_file(tmp_path: Path, value: str) -> None:
    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        return run_captured(command, cwd=str(tmp_path), timeout_s=timeout, on_output=on_output)

    fake = Fake(answers=["y"])
    io = RunIO(ask=fake.ask, say=fake.said.append, show_output=fake.shown.append, runner=runner)
    opts = RunOptions(params=(("tag", value),))
    s = Session(parse_runbook(INJECTION_RUNBOOK, "rb.md"), INJECTION_RUNBOOK, opts, io)
    s.prepare()
    assert s.execute(None).status is ExitStatus.OK
    assert not (tmp_path / "PWNED").exists()
    assert (tmp_path / "plain.txt").read_text() == value + "\n"
    assert (tmp_path / "double.txt").read_text() == f"tag={value}\n"
    assert (tmp_path / "single.txt").read_text() == f"tag={value}\n"


@pytest.mark.parametrize("value", HOSTILE)
def test_substitute_keeps_values_as_one_word(value: str) -> None:
    command = substitute("printf %s {tag}", {"tag": value})
    assert shlex.split(command) == ["printf", "%s", value]
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    assert out.stdout == value


def test_substitute_leaves_unknown_and_shell_braces() -> None:
    assert substitute("echo ${HOME} {other} {tag}", {"tag": "v1"}) == "echo ${HOME} {other} v1"


def test_parse_params() -> None:
    assert parse_params(["b=2", "{a}=x=y"]) == (("a", "x=y"), ("b", "2"))
    with pytest.raises(UsageError):
        parse_params(["novalue"])


# ---------------------------------------------------------------------- shapes, targets


def test_param_examples_and_shapes() -> None:
    text = "- `{commit-sha}` — observed: `3f9c2e1`, `a1b2c3d`\nUse {region} (e.g. `us-east-1`)\n"
    examples = param_examples(text)
    assert examples == {"commit-sha": ("3f9c2e1", "a1b2c3d"), "region": ("us-east-1",)}
    hex_shape = infer_shape("commit-sha", examples["commit-sha"])
    assert hex_shape is not None and hex_shape.label.startswith("a hex id")
    assert hex_shape.pattern.fullmatch("deadbeef")
    assert not hex_shape.pattern.fullmatch("main")
    word = infer_shape("region", examples["region"])
    assert word is not None and not word.pattern.fullmatch("us-east-1; ls")
    assert infer_shape("message", ("deploy the thing",)) is None
    shape = infer_shape("commit-sha", ())
    assert shape is not None and shape.label == "a hex id"  # from the name alone
    assert infer_shape("anything", ()) is None


@pytest.mark.parametrize(
    ("command", "kind", "target"),
    [
        ('psql -c "DROP TABLE users"', "DROP", "users"),
        ("psql -c 'TRUNCATE TABLE events;'", "TRUNCATE", "events"),
        ("rm -rf /srv/app/releases/old", "rm -rf", "/srv/app/releases/old"),
        ("terraform destroy -target=aws_instance.web", "terraform destroy", "aws_instance.web"),
        ("kubectl delete deployment web -n prod", "kubectl delete", "web"),
        ("kubectl scale deploy/api --replicas=0", "scale to 0", "api"),
        ("aws s3 sync ./dist s3://site-bucket --delete", "--delete", "s3://site-bucket"),
        (
            "aws s3 rm s3://web-prod/assets/ --recursive",
            "aws s3 rm --recursive",
            "s3://web-prod/assets/",
        ),
        (
            "aws ecs update-service --cluster main --service api --desired-count 0",
            "scale to 0",
            "api",
        ),
        (
            "aws autoscaling update-auto-scaling-group --auto-scaling-group-name web-asg --min-size 0",
            "scale to 0",
            "web-asg",
        ),
    ],
)
def test_destructive_kind_and_target(command: str, kind: str, target: str) -> None:
    assert destructive_kind(command) == kind
    assert destructive_target(command, "STEP") == target


@pytest.mark.parametrize(
    "command",
    ["kubectl scale deploy/api --replicas=3", "ls -la", "aws s3 sync ./dist s3://b", "rm old.log"],
)
def test_not_destructive(command: str) -> None:
    assert destructive_kind(command) is None


# ---------------------------------------------------------------------- recorded as evidence


def test_run_is_recorded_as_an_observation(tmp_path: Path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(
        "# Runbook: Deployment - web\n\n## Procedure\n\n"
        "### Step 1: Say hello\n\n```sh\necho hello {name}\n```\n\n"
        "**Verification**:\n```sh\necho verified\n```\n\n**Expected**: `verified`\n\n"
        "### Step 2: Optional cleanup\n\n```sh\necho cleanup\n```\n\n"
        "### Step 3: Fail\n\n```sh\nsh -c 'echo Error: nope >&2; exit 4'\n```\n",
        encoding="utf-8",
    )

    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        return run_captured(command, cwd=str(tmp_path), timeout_s=timeout, merge_stderr=True)

    fake = Fake(answers=["y", "s", "y", "s"])
    io = RunIO(
        ask=fake.ask, say=fake.said.append, show_output=fake.shown.append, runner=runner,
        now=FakeClock(),
    )  # fmt: skip
    outcome = api.run_runbook(
        book, root=tmp_path, options=RunOptions(params=(("name", "world"),)), io=io
    )
    assert outcome.result is not None and outcome.result.status is ExitStatus.FINDINGS
    assert outcome.recording is not None and outcome.recording.outcome == "failure"
    parsed = read_evidence(
        tmp_path / outcome.recording.execution, tmp_path, EvidenceKind.OBSERVATION, Config()
    )
    assert not isinstance(parsed, type(None))
    (execution,) = parsed.executions  # type: ignore[union-attr]
    assert [c.text for c in execution.commands] == [
        "echo hello world",
        "echo verified",
        "sh -c 'echo Error: nope >&2; exit 4'",
    ]
    assert [c.exit_code for c in execution.commands] == [0, 0, 4]
    assert execution.declared_type == "deployment"
    notes = (tmp_path / outcome.recording.execution).read_text(encoding="utf-8")
    assert "Step 2 “Optional cleanup”: skipped by the operator" in notes
    assert "Step 1 verification passed" in notes
    assert "Parameters: name=world" in notes
    assert len(outcome.recording.failures) == 1


def test_dry_run_records_nothing(tmp_path: Path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(RUNBOOK, encoding="utf-8")
    outcome = api.run_runbook(
        book,
        root=tmp_path,
        options=RunOptions(dry_run=True, params=(("tag", "v1.5.0"),)),
        io=Fake(interactive=False).io(),
    )
    assert outcome.result is None and "docker build -t app:v1.5.0 ." in outcome.dry_run
    assert not (tmp_path / ".runbook").exists() and not (tmp_path / ".claude").exists()


CHECKS = """\
# Runbook: Deployment - checks

## Procedure

### Step 1: Deploy

```sh
deploy --version {tag}
```

## Verification

### Check 1: Service health

```sh
curl -fsS https://api.example.com/health
```

**Expected**: `"version": "{tag}"`

**If Failed**: Check the load balancer target health

### Check 2: Smoke tests

```sh
dr test smoke
```
"""


def test_post_operation_checks_run_after_the_steps() -> None:
    health = Captured(0, '{"status": "healthy", "version": "v2.1.0"}', 0.3)
    fake = Fake(answers=["y", "y", "y"], results={"curl": [health]})
    result = session(fake, CHECKS, params=(("tag", "v2.1.0"),)).execute(None)
    assert result.status is ExitStatus.OK
    assert [(r.kind, r.number, r.status) for r in result.steps] == [
        ("step", 1, "passed"),
        ("check", 1, "passed"),
        ("check", 2, "passed"),
    ]
    assert fake.asked[1] == "Run check 1? [y]es / [s]kip / [q]uit: "
    assert "All steps and checks passed." in fake.text


def test_failed_check_is_exit_1_with_its_guidance() -> None:
    stale = Captured(0, '{"status": "healthy", "version": "v2.0.9"}', 0.3)
    fake = Fake(answers=["y", "y", "s"], results={"curl": [stale]})
    result = session(fake, CHECKS, params=(("tag", "v2.1.0"),)).execute(None)
    assert result.status is ExitStatus.FINDINGS
    assert result.steps[-1].kind == "check" and result.steps[-1].status == "failed"
    assert "Check the load balancer target health" in fake.text
    assert fake.asked[-1].startswith("Check 1 failed. [r]etry / [s]top")
    assert "Failed at check 1" in fake.text


def test_dry_run_lists_checks() -> None:
    text = session(Fake(), CHECKS, params=(("tag", "v2.1.0"),), dry_run=True).dry_run()
    assert "## Check 1: Service health" in text
    assert "# verify: curl -fsS https://api.example.com/health" in text


def test_secret_named_param_never_reaches_the_recording(tmp_path: Path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(
        "# Runbook: Migration - db\n\n## Procedure\n\n### Step 1: Connect\n\n"
        "```sh\necho connecting as app with {db-password}\n```\n",
        encoding="utf-8",
    )

    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        return run_captured(command, cwd=str(tmp_path), timeout_s=timeout)

    fake = Fake(answers=["y"])
    io = RunIO(ask=fake.ask, say=fake.said.append, show_output=fake.shown.append, runner=runner)
    value = "plainlooking42"  # no secret shape: only its name says it is one
    outcome = api.run_runbook(
        book, root=tmp_path, options=RunOptions(params=(("db-password", value),)), io=io
    )
    assert outcome.result is not None and outcome.result.status is ExitStatus.OK
    for path in [p for p in tmp_path.rglob("*") if p.is_file() and p != book]:
        assert value not in path.read_text(encoding="utf-8"), path


def test_run_joins_an_open_recording(tmp_path: Path) -> None:
    from runbook import observe

    book = tmp_path / "rb.md"
    book.write_text(INJECTION_RUNBOOK, encoding="utf-8")
    rec = observe.start(tmp_path, "maintenance window")

    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        return run_captured(command, cwd=str(tmp_path), timeout_s=timeout)

    fake = Fake(answers=["y"])
    io = RunIO(ask=fake.ask, say=fake.said.append, show_output=fake.shown.append, runner=runner)
    outcome = api.run_runbook(
        book, root=tmp_path, options=RunOptions(params=(("tag", "v1"),)), io=io
    )
    assert outcome.recorded_into == rec.id and outcome.recording is None
    state = observe.current(tmp_path)  # still open: the operator stops it
    assert state is not None and len(state.commands) == 3
    assert any("runbook run" in n and "ended: success" in n for n in state.notes)


def test_run_refuses_while_an_orphaned_recording_waits_for_recovery(tmp_path: Path) -> None:
    from runbook import observe

    book = tmp_path / "rb.md"
    book.write_text(INJECTION_RUNBOOK, encoding="utf-8")
    dead = subprocess.Popen(["true"])
    dead.wait()
    observe.start(tmp_path, "lost ssh session", owner_pid=dead.pid)
    fake = Fake(answers=["y"])
    with pytest.raises(UsageError, match="already open") as err:
        api.run_runbook(
            book, root=tmp_path, options=RunOptions(params=(("tag", "v1"),)), io=fake.io()
        )
    assert "recover" in err.value.hint
    assert fake.ran == []


SAMPLE = """\
# Runbook: Deployment - sample

## Procedure

### Step 1: Build

```sh
docker build -t app:{tag} .
```

**Expected Output**:
```
Successfully tagged app:{tag}
```
"""


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        (
            "Step 1/9\nSuccessfully tagged app:v3.0.0\n",
            "✓ output matches Expected Output (1 line(s))",
        ),
        ("naming to docker.io/library/app:v3.0.0 done\n", "! output differs from Expected Output"),
    ],
)
def test_expected_output_is_compared_but_never_fails_the_step(output: str, shown: str) -> None:
    fake = Fake(answers=["y"], results={"docker build": [Captured(0, output, 1.0)]})
    result = session(fake, SAMPLE, params=(("tag", "v3.0.0"),)).execute(None)
    assert result.status is ExitStatus.OK
    assert shown in fake.text


@settings(max_examples=80, deadline=None)
@given(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
)
def test_any_value_stays_literal_in_every_quoting_context(value: str) -> None:
    script = substitute(
        "IFS=; set -f; "  # the unquoted substitution at the end: no word splitting or globbing
        "printf '%s|' {v}; printf '%s|' \"{v}\"; printf '%s|' 'x{v}y'; "
        "printf '%s|' \"$(printf '%s' {v})\"; printf '%s|' \"`printf '%s' {v}`\"; "
        "printf '%s|' `printf '%s' \"{v}\"`x",
        {"v": value},
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    inner = value.rstrip("\n")  # command substitution drops trailing newlines
    expected = f"{value}|{value}|x{value}y|{inner}|{inner}|{inner}x|"
    assert out.decode("utf-8", "surrogateescape") == expected


def test_unused_param_is_mentioned() -> None:
    fake = Fake()
    session(fake, params=(("tag", "v1.5.0"), ("tga", "v1.5.0")), dry_run=True)
    assert "--param tga is not used" in fake.text
    assert "--param tag is not" not in fake.text


GOLDEN = Path(__file__).parent / "data" / "golden" / "fixture-deployment-lambda.md"


@pytest.mark.parametrize(
    ("output", "signature_words"),
    [
        (
            "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker]\n"
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "authorization token has expired",
        ),
        (
            "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode "
            "operation: The operation cannot be performed at this time. An update is in progress "
            "for resource: arn:aws:lambda:us-east-1:123456789012:function:report_worker",
            "ResourceConflictException",
        ),
    ],
)
def test_troubleshooting_matches_a_generated_runbook(output: str, signature_words: str) -> None:
    from runbook.execute import matching_issues

    parsed = parse_runbook(GOLDEN.read_text(encoding="utf-8"), GOLDEN.name)
    found = matching_issues(parsed.troubleshooting, output)
    assert found, "no troubleshooting entry matched"
    assert signature_words in found[0][0].signature
    unrelated = matching_issues(parsed.troubleshooting, "fatal: not a git repository")
    assert unrelated == []


def test_rollback_without_its_values_is_not_started() -> None:
    fake = Fake(answers=["s", "s", "y", "b"], results={"dr test": [Captured(1, "boom", 1.0)]})
    result = session(fake, params=(("tag", "v1.5.0"),)).execute(None)
    assert result.status is ExitStatus.FINDINGS
    assert "Rollback not started: no value for {previous-tag} (end of input)" in fake.text
    assert fake.commands == ["dr test smoke"]


def test_end_of_input_at_a_placeholder_prompt_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="end of input"):
        session(Fake(answers=[]))

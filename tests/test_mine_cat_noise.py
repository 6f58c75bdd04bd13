from __future__ import annotations

from datetime import datetime, timedelta

from _mine_runs import run

from runbook.mine import mine
from runbook.model import (
    Command,
    EvidenceKind,
    Execution,
    MinedCommand,
    ObservationMode,
    OperationType,
    Outcome,
    Procedure,
    SourceRef,
)
from runbook.normalize import normalize
from runbook.sources.common import fence_commands
from runbook.sources.markdown import Fence
from runbook.sources.shell import split_script

T0 = datetime(2025, 9, 1, 9, 0, 0)

# a timed, git-branch prompt transcript where `cat` prints a file whose first line is "# path"
_TRANSCRIPT = """\
[09:03:37] grace@bastion:~/infra (main)$ terraform -chdir=infra/prod init -input=false
Terraform has been successfully initialized!
[09:04:22] grace@bastion:~/infra (main)$ cat infra/prod/prod.tfvars
# infra/prod/prod.tfvars
region = "eu-west-1"
[09:04:25] grace@bastion:~/infra (main)$ terraform -chdir=infra/prod plan -var-file=prod.tfvars -out=plan-{n}.tfplan
Plan: 0 to add, 3 to change, 0 to destroy.
[09:05:36] grace@bastion:~/infra (main)$ cat loadtest/checkout.js
# loadtest/checkout.js
import http from 'k6/http';
[09:05:40] grace@bastion:~/infra (main)$ terraform -chdir=infra/prod apply -input=false plan-{n}.tfplan
Apply complete! Resources: 0 added, 3 changed, 0 destroyed.
"""


def _all(p: Procedure) -> list[MinedCommand]:
    out: list[MinedCommand] = []
    for step in p.steps:
        out.extend(step.commands)
        if step.verification is not None:
            out.append(step.verification)
    return out


def test_hash_line_under_cat_is_output_not_a_root_prompt() -> None:
    lines = split_script(_TRANSCRIPT.format(n=1), transcript=True)
    assert [sl.command.split()[0] for sl in lines] == [
        "terraform",
        "cat",
        "terraform",
        "cat",
        "terraform",
    ]
    assert lines[1].output.startswith("# infra/prod/prod.tfvars")
    assert [sl.clock for sl in lines][:2] == ["09:03:37", "09:04:22"]
    assert lines[0].cwd == "~/infra"


def test_root_prompts_still_work_alone_and_after_sudo_i() -> None:
    assert [
        sl.command for sl in split_script("# systemctl restart nginx\nok\n", transcript=True)
    ] == ["systemctl restart nginx"]
    got = split_script("$ sudo -i\n# systemctl restart nginx\nok\n", transcript=True)
    assert [sl.command for sl in got] == ["sudo -i", "systemctl restart nginx"]


def _fence_run(i: int) -> Execution:
    rel = f".claude/observations/2025-09-0{i + 1}/execution-tf-{i}.md"
    body = _TRANSCRIPT.format(n=i)
    fence = Fence("console", body, 9, 10, 10 + body.count("\n"))
    cmds = fence_commands(fence, rel, "raw log", 400, day=(T0 + timedelta(days=i)).date())
    return Execution(
        id=rel,
        source=SourceRef(rel),
        kind=EvidenceKind.OBSERVATION,
        outcome=Outcome.SUCCESS,
        commands=tuple(cmds),
        mode=ObservationMode.EXECUTION,
    )


def _hand_runs() -> list[Execution]:
    runs = []
    for i in range(4):
        cmds: list[tuple[object, ...]] = [
            ("terraform -chdir=infra/prod init -input=false", 5),
            (
                "cat infra/prod/prod.tfvars",
                1,
                0,
                '# infra/prod/prod.tfvars\nregion = "eu-west-1"\n',
            ),
            (f"terraform -chdir=infra/prod plan -var-file=prod.tfvars -out=plan-{i}.tfplan", 30),
            (
                "cat loadtest/checkout.js",
                1,
                0,
                "# loadtest/checkout.js\nimport http from 'k6/http';\n",
            ),
            (f"terraform -chdir=infra/prod apply -input=false plan-{i}.tfplan", 60),
        ]
        runs.append(run(f"2025-09-0{i + 1}/execution-tf-{i}", cmds, start=T0 + timedelta(days=i)))
    return runs


def _check_programs(p: Procedure) -> None:
    mined = _all(p)
    assert mined
    for c in mined:
        program = normalize(c.text).program
        # no display text is a bare file name: it keeps the program its key was mined under
        assert program, c.text
        assert program == normalize(c.key).program, (c.text, c.key)
        assert not c.program or c.program == program, (c.text, c.program)
        assert not c.text.startswith(("infra/", "loadtest/")), c.text
        assert not program.startswith("cat"), c.text  # reading a local file is inspection noise


def test_cat_of_a_local_file_is_noise_in_hand_made_runs() -> None:
    p = mine(_hand_runs(), OperationType.DEPLOYMENT)
    _check_programs(p)
    assert [normalize(c.text).program for c in _all(p)] == ["terraform"] * 3


def test_cat_of_a_local_file_is_noise_in_parsed_transcripts() -> None:
    runs = [_fence_run(i) for i in range(4)]
    assert all(len(r.commands) == 5 for r in runs)
    p = mine(runs, OperationType.DEPLOYMENT)
    _check_programs(p)
    texts = [c.text for c in _all(p)]
    assert len(texts) == 3 and all(t.startswith("terraform -chdir=infra/prod ") for t in texts)


def test_commands_keep_text_and_program() -> None:
    # sanity on the builders: the parsed command keeps its full text
    c: Command = _fence_run(0).commands[1]
    assert c.text == "cat infra/prod/prod.tfvars"

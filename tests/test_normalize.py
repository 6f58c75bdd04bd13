"""Tests for runbook.normalize: golden command cases, error signatures, and properties."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from _redact_strategies import SECRETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.model import Token
from runbook.normalize import (
    MASKS,
    error_signature,
    normalize,
    program_name,
    quote_word,
    slot_values,
    split_env,
)
from runbook.redact import contains_secret

CASES_FILE = Path(__file__).parent / "data" / "normalize" / "commands.txt"


@dataclass
class Case:
    line: int
    command: str
    fields: dict[str, str]


def _read_cases() -> list[Case]:
    cases: list[Case] = []
    current: Case | None = None
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("$ "):
            current = Case(number, line[2:], {})
            cases.append(current)
        elif line.startswith("> ") and current is not None:
            current.command += "\n" + line[2:]
        elif current is not None:
            name, _, value = line.partition(":")
            current.fields[name.strip()] = value.strip()
    return cases


CASES = _read_cases()


def test_cases_file_is_substantial() -> None:
    assert len(CASES) >= 40
    assert all("key" in c.fields for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"line{c.line}" for c in CASES])
def test_golden_command(case: Case) -> None:
    t = normalize(case.command)
    assert t.key == case.fields["key"]
    assert t.program == case.fields.get("program", "")
    assert t.subcommand == case.fields.get("subcommand", "")
    slots = [tok.slot for tok in t.tokens if tok.slot]
    expected_slots = case.fields.get("slots", "-")
    assert slots == ([] if expected_slots == "-" else expected_slots.split(", "))
    assert t.redactions == int(case.fields.get("redactions", "0"))
    # tokens rebuild the key, and the key is a fixed point
    assert " ".join(tok.template for tok in t.tokens) == t.key
    assert normalize(t.key).key == t.key


def test_line_continuation_and_env_prefix() -> None:
    cmd = "ENV=prod \\\n  aws lambda update-function-code \\\n    --function-name report_worker"
    t = normalize(cmd)
    assert t.key == "ENV=prod aws lambda update-function-code --function-name report_worker"
    assert "\n" not in t.raw


def test_same_command_different_values_share_key() -> None:
    a = normalize("docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:sha-3f9c2e1")
    b = normalize("docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:sha-a81b007")
    assert a.key == b.key
    c = normalize("kubectl logs web-5d8f7b9c6-abcde -n prod")
    d = normalize("kubectl logs web-7c4b9f5d8-qwxyz -n prod")
    assert c.key == d.key


def test_constants_stay_literal() -> None:
    t = normalize("kubectl -n payments scale deployment/checkout --replicas 3 --timeout 60s")
    assert t.key == "kubectl -n payments scale deployment/checkout --replicas 3 --timeout 60s"
    assert all(tok.slot is None for tok in t.tokens)


def test_slot_values_recover_each_placeholder() -> None:
    t = normalize("docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2.0.1")
    token = t.tokens[-1]
    assert token.template == "{account-id}.dkr.ecr.{region}.amazonaws.com/api:{image-tag}"
    assert slot_values(token) == {
        "account-id": "123456789012",
        "region": "eu-west-1",
        "image-tag": "v2.0.1",
    }
    named = normalize("helm upgrade api ./chart --set image.tag=v1.2.3").tokens[-1]
    assert slot_values(named) == {"image-tag": "v1.2.3"}
    assert slot_values(Token("plain")) == {}


def test_masks_are_data() -> None:
    kinds = [rule.kind for rule in MASKS]
    for kind in ("image-digest", "commit-sha", "uuid", "arn", "ip", "version", "number"):
        assert kind in kinds
    # order matters: digests before SHAs, account ids before plain numbers
    assert kinds.index("image-digest") < kinds.index("commit-sha")
    assert kinds.index("account-id") < kinds.index("number")


@pytest.mark.parametrize(
    ("word", "placeholder"),
    [
        ("sha256:" + "0a" * 32, "{image-digest}"),
        ("3f9c2e1", "{commit-sha}"),
        ("0b8f0c8e-1a2b-4c3d-9e8f-123456789abc", "{uuid}"),
        ("arn:aws:iam::123456789012:role/deploy", "{arn}"),
        ("123456789012", "{account-id}"),
        ("10.20.30.40", "{ip}"),
        ("2001:db8::8a2e:370:7334", "{ip}"),
        ("v1.2.3", "{version}"),
        ("1.2.3-rc.1", "{version}"),
        ("2025-12-23", "{date}"),
        ("20251223-1430", "{timestamp}"),
        ("2025-12-23T14:30:52Z", "{timestamp}"),
        ("987654", "{number}"),
        ("/tmp/tmp.Xy12AbCd9Q", "{temp-path}"),
        ("/var/folders/xy/abc123/T/build", "{temp-path}"),
        ("web-5d8f7b9c6-abcde", "{pod}"),
        ("i-0abc123def4567890", "{instance-id}"),
    ],
)
def test_each_rule_masks_its_kind(word: str, placeholder: str) -> None:
    assert normalize(f"tool {word}").key == f"tool {placeholder}"


@pytest.mark.parametrize(
    "word",
    ["deadbeef", "1234567x", "42", "600", "python3.11", "apps/v1", "us-east-1", "db.r6g.large"],
)
def test_lookalikes_are_not_masked(word: str) -> None:
    assert normalize(f"tool {word}").key == f"tool {word}"


def test_flag_name_only_when_value_masked() -> None:
    assert normalize("aws lambda get-function --function-name report_worker").key.endswith(
        "--function-name report_worker"
    )
    assert normalize("aws lambda get-function --function-name report-1234").key.endswith(
        "--function-name {function-name}"
    )
    assert normalize("deploy --since=2025-12-23").key == "deploy --since={since}"


def test_key_value_lists_name_each_value() -> None:
    t = normalize(
        "aws rds create-db-proxy --auth AuthScheme=SECRETS,SecretArn=arn:aws:secretsmanager:"
        "us-east-1:123456789012:secret:prod/app-9Xk2Lm,IAMAuth=DISABLED"
    )
    assert t.key.endswith("--auth AuthScheme=SECRETS,SecretArn={secret-arn},IAMAuth=DISABLED")
    assert normalize("helm upgrade api . --set a=1,b=v2.0.0").key.endswith("--set a=1,b={b}")


def test_copied_prompt_is_dropped() -> None:
    assert normalize("$ kubectl get pods").key == "kubectl get pods"
    assert normalize("$HOME/bin/tool").key == "$HOME/bin/tool"


def test_quotes_normalized() -> None:
    assert normalize('echo "a b"').key == normalize("echo 'a b'").key == 'echo "a b"'
    assert normalize("grep -r 'x|y' .").key == 'grep -r "x|y" .'


def test_pipeline_program_is_first_meaningful_command() -> None:
    t = normalize("cd /srv/app && export X=1 && echo start; alembic upgrade head | tee log.txt")
    assert (t.program, t.subcommand) == ("alembic", "upgrade")
    assert normalize("echo hello").program == "echo"
    assert normalize("").key == ""
    assert normalize("   ").program == ""


@pytest.mark.parametrize(
    ("command", "program"),
    [
        ("op run --env-file=.env -- terraform apply", "terraform"),
        ("dotenv -e .env.prod -- node scripts/migrate.js", "node"),
        ("uv run --with httpx python smoke.py", "python"),
        ("bundle exec rake db:migrate", "rake"),
        ("nohup ./bin/worker.sh &", "worker.sh"),
        ("watch -n 5 kubectl get pods", "kubectl"),
        ("aws-vault exec prod aws s3 ls", "aws"),
        ("$(aws ecr get-login --no-include-email --region us-east-1)", "aws"),
        ("ENV=prod doppler run --", "doppler"),
        ("bash deploy.sh prod", "deploy.sh"),
        ('$env:AWS_PROFILE="prod"; aws.exe s3 ls', "aws"),
        ("sh -c 'cd /srv && ./manage.py migrate'", "./manage.py"),
    ],
)
def test_wrappers_are_stripped(command: str, program: str) -> None:
    assert normalize(command).program == program


def test_deep_nesting_is_bounded() -> None:
    deep = "$(" * 3000 + "aws s3 ls" + ")" * 3000
    assert normalize(deep).key.startswith('"$($(')
    nested = "kubectl get pods"
    for _ in range(8):
        nested = "bash -c " + quote_word(nested)
    assert normalize(nested).program == "bash"


def test_program_name_and_quote_word() -> None:
    assert program_name("./scripts/deploy.sh") == "deploy.sh"
    assert program_name("aws") == "aws"
    assert quote_word("plain") == "plain"
    assert quote_word("a b") == '"a b"'
    assert quote_word('say "hi"') == "'say \"hi\"'"
    assert quote_word("") == '""'


def test_split_env() -> None:
    env, rest = split_env("ENV=prod REGION='us east' DB_PASSWORD=hunter2 aws s3 ls")
    assert env == {"ENV": "prod", "REGION": "us east", "DB_PASSWORD": "{redacted:db-password}"}
    assert rest == "aws s3 ls"
    assert split_env("X=1") == ({}, "X=1")


# ------------------------------------------------------------------ error signatures


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "2025-12-23T14:30:52Z ERROR Task timed out after 30.00 seconds",
            "2025-12-24T09:01:07.123Z ERROR Task timed out after 900.00 seconds",
        ),
        (
            'File "/var/task/app/handler.py", line 42, in handler',
            'File "/var/task/app/handler.py", line 97, in handler',
        ),
        (
            "Back-off restarting failed container web in pod web-5d8f7b9c6-abcde_prod(0b8f0c8e-1a2b-4c3d-9e8f-123456789abc)",
            "Back-off restarting failed container web in pod web-7c4b9f5d8-qwxyz_prod(1c9f0c8e-1a2b-4c3d-9e8f-123456789def)",
        ),
        (
            "[ERROR] connection to 10.0.3.7:5432 refused after 3 attempts",
            "[ERROR] connection to 10.0.3.9:5432 refused after 5 attempts",
        ),
        (
            "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode operation: The operation cannot be performed at this time. RequestId: 0b8f0c8e-1a2b-4c3d-9e8f-123456789abc",
            "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode operation: The operation cannot be performed at this time. RequestId: 5e0f0c8e-1a2b-4c3d-9e8f-123456789abc",
        ),
        (
            "│ Error: Error acquiring the state lock",
            "2025-10-22T10:15:05Z Error acquiring the state lock",
        ),
        (
            "41.77 ERROR: Could not install packages: [Errno 28] No space left on device",
            "ERROR: Could not install packages: [Errno 28] No space left on device",
        ),
        (
            "[ERROR] render timeout, report 90412 (412 pages)",
            "[ERROR] render timeout, report 90433 (388 pages)",
        ),
        (
            "E1223 14:30:52.123456   12345 reflector.go:138] failed to list *v1.Pod: Unauthorized",
            "E1224 08:00:01.000001   99 reflector.go:140] failed to list *v1.Pod: Unauthorized",
        ),
    ],
)
def test_same_error_same_signature(first: str, second: str) -> None:
    assert error_signature(first) == error_signature(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("HTTP 503 Service Unavailable", "HTTP 404 Not Found"),
        ("exit code 137", "exit code 1"),
        ('relation "users" does not exist', 'relation "orders" does not exist'),
        ("Error: UPGRADE FAILED: timed out", "Error: INSTALLATION FAILED: timed out"),
        ("ERROR 1045 (28000): Access denied", "ERROR 2003 (HY000): Access denied"),
        ("AssertionError: expected 201, got 500", "AssertionError: expected 200, got 404"),
        ("ORA-00942: table or view does not exist", "ORA-01017: table or view does not exist"),
        ("cannot load library 'libpango-1.0-0'", "cannot load library 'libcairo-2'"),
    ],
)
def test_different_errors_different_signatures(first: str, second: str) -> None:
    assert error_signature(first) != error_signature(second)


def test_error_signature_strips_noise() -> None:
    sig = error_signature("2025-12-23 14:30:52,123 ERROR   Task timed out after 30.00 seconds\n")
    assert sig == "Task timed out after {duration}"
    assert error_signature("") == ""
    assert "hunter2" not in error_signature("auth failed for DB_PASSWORD=hunter2")


# ------------------------------------------------------------------------ properties

PROPS = settings(
    max_examples=int(os.environ.get("HYPO_N", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_SHELLY = st.sampled_from(
    [
        *"ab 01-_=:/.'\"\\|&;<>()$`{}#\n\t@,*",
        *["sha256:", "v1.2.3", "--x", "<<EOF\n", "\x00", "é", "$("],
    ]
)
ARBITRARY = st.one_of(st.text(max_size=120), st.lists(_SHELLY, max_size=40).map("".join))


@PROPS
@given(ARBITRARY)
def test_never_raises(text: str) -> None:
    t = normalize(text)
    assert isinstance(t.key, str)
    assert " ".join(tok.template for tok in t.tokens) == t.key
    error_signature(text)
    split_env(text)


@PROPS
@given(ARBITRARY)
def test_idempotent(text: str) -> None:
    key = normalize(text).key
    assert normalize(key).key == key


_ERROR_PARTS = st.sampled_from(
    [
        *["ERROR", "Error:", "2025-12-23T14:30:52Z", "[WARN]", "line 42", "30.5 seconds", "0x7ffe"],
        *["timeout", "10.0.0.1:5432", "\n", "503", "exit code", "abc", "ABCDEF0123456789XYZ"],
        *["web-5d8f7b9c6-abcde", "3f9c2e1", "level=error", "app[123]:", "12", "1.5", "v1.2.3"],
    ]
)


@PROPS
@given(st.one_of(st.text(max_size=80), st.lists(_ERROR_PARTS, max_size=12).map(" ".join)))
def test_error_signature_is_a_fixed_point(message: str) -> None:
    sig = error_signature(message)
    assert error_signature(sig) == sig


_WORDS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "aws",
                "kubectl",
                "curl",
                "-sS",
                "--region",
                "us-east-1",
                "|",
                "&&",
                "echo",
                "export",
                "deploy",
                "sha256:" + "ab" * 32,
                "v1.2.3",
                "3f9c2e1",
                '"',
                "'",
                ";",
                "\\\n",
            ]
        ),
        st.text("abcdefghijklmnopqrstuvwxyz-_./", min_size=1, max_size=10),
    ),
    max_size=6,
)


@PROPS
@given(_WORDS, SECRETS, _WORDS)
def test_planted_secret_never_survives(
    before: list[str], secret: tuple[str, str], after: list[str]
) -> None:
    value, planted = secret
    t = normalize(" ".join([*before, planted, *after]))
    assert value not in t.raw
    assert value not in t.key
    for tok in t.tokens:
        assert value not in tok.text
        assert value not in tok.template
    assert t.redactions >= 1
    assert not contains_secret(t.key)
    assert value not in error_signature(" ".join([*before, planted, *after]))


_LOWER_WORD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
_FLAGS = st.sampled_from(
    ["--function-name", "--namespace", "--bucket", "--cluster", "--service", "-n", "--stack-name"]
)


@PROPS
@given(st.lists(st.tuples(_FLAGS, _LOWER_WORD), min_size=1, max_size=5), _LOWER_WORD)
def test_constants_never_masked(pairs: list[tuple[str, str]], positional: str) -> None:
    words = ["aws", "lambda", "update-function-code"]
    for flag, value in pairs:
        words += [flag, value]
    words.append(positional)
    words.append(f"NAME={positional}")
    t = normalize(" ".join(words))
    assert t.key == " ".join(words)
    assert all(tok.slot is None for tok in t.tokens)


@pytest.mark.parametrize(
    ("command", "key"),
    [
        # a four-part version after a version flag, key or word is a version
        (
            "dotnet tool update -g x --version 2.14.0.1",
            "dotnet tool update -g x --version {version}",
        ),
        ("nuget install Foo -Version 2.14.0.1", "nuget install Foo -Version {version}"),
        ("msbuild /p:Version=2.14.0.1", "msbuild /p:Version={version}"),
        ("deploy.sh release 2.14.0.1", "deploy.sh release {version}"),
        ("VERSION=2.14.0.1 make deploy", "VERSION={version} make deploy"),
        # real addresses are still addresses
        ("ssh 10.0.1.23", "ssh {ip}"),
        ("curl http://10.0.1.23:8080/health", "curl http://{ip}:8080/health"),
        ("nc -zv 10.2.3.4 5432", "nc -zv {ip} {number}"),
        ("ping -c 3 192.168.1.254", "ping -c 3 {ip}"),
    ],
)
def test_four_part_versions_are_not_addresses(command: str, key: str) -> None:
    assert normalize(command).key == key


def test_error_signature_tells_build_numbers_from_addresses() -> None:
    sig = error_signature("Version: 10.0.19045.1 could not connect to 10.1.2.3:443")
    assert sig == "Version: {version} could not connect to {ip}:{number}"


@pytest.mark.parametrize(
    ("command", "subcommand"),
    [
        ("az webapp deployment slot swap -g rg -n shop --slot staging", "webapp deployment slot swap"),
        ("az webapp config container show -g rg -n shop", "webapp config container show"),
        ("gcloud container clusters get-credentials prod --region europe-west1", "container clusters get-credentials"),
        ("gcloud run deploy checkout --image europe-docker.pkg.dev/x/y:1", "run deploy"),
        ("gcloud run services describe billing-api --region europe-west4", "run services describe"),
        ("doctl kubernetes cluster kubeconfig save prod", "kubernetes cluster kubeconfig save"),
        ("kubectl argo rollouts promote payments-api -n payments", "argo rollouts promote"),
        ("kubectl get pods web-1 -n prod", "get pods"),
        ("kubectl rollout status deployment/web -n prod", "rollout status"),
    ],
)  # fmt: skip
def test_nested_command_groups_keep_their_verb(command: str, subcommand: str) -> None:
    assert normalize(command).subcommand == subcommand

"""Tests for runbook.redact: every secret family, placeholders, lookalikes, idempotency."""

from __future__ import annotations

import os
import re

import pytest
from _redact_strategies import SECRETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.redact import (
    RULES,
    contains_secret,
    is_secret_key,
    redact,
    redacted_marker,
    secret_values,
    strip_ansi,
)

PROPS = settings(
    max_examples=int(os.environ.get("HYPO_N", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3kifQ.c2lnbmF0dXJlLXZhbHVl"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "export AWS_ACCESS_KEY_ID={redacted:aws-access-key-id}",
        ),
        ("ASIAY34FZKBOKMUTVV7A", "{redacted:aws-access-key-id}"),
        (
            f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
            "AWS_SECRET_ACCESS_KEY={redacted:aws-secret-access-key}",
        ),
        (
            f'"SecretAccessKey": "{AWS_SECRET}"',
            '"SecretAccessKey": "{redacted:aws-secret-access-key}"',
        ),
        (
            f"aws configure set aws_secret_access_key {AWS_SECRET}",
            "aws configure set aws_secret_access_key {redacted:aws-secret-access-key}",
        ),
        (
            f"git clone https://{GH}@github.com/acme/app",
            "git clone https://{redacted:github-token}@github.com/acme/app",
        ),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "{redacted:github-token}"),
        ("GITLAB_TOKEN=glpat-xY9z8W7v6U5t4S3r2Q1p", "GITLAB_TOKEN={redacted:gitlab-token}"),
        (
            "SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
            "SLACK_BOT_TOKEN={redacted:slack-token}",
        ),
        (
            "curl -X POST https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop1234",
            "curl -X POST https://hooks.slack.com/services/{redacted:slack-webhook}",
        ),
        (
            "stripe listen --api-key sk_live_51HxYzAbCdEfGhIjKlMn",
            "stripe listen --api-key {redacted:stripe-key}",
        ),
        ("rk_live_51HxYzAbCdEfGhIjKlMn", "{redacted:stripe-key}"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "{redacted:stripe-key}"),
        (
            "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv",
            "OPENAI_API_KEY={redacted:openai-key}",
        ),
        ("sk-ant-api03-AbCdEfGh1234567890_-xyz", "{redacted:anthropic-key}"),
        ("key=AIzaSyA1234567890abcdefghijklmnopqrstuv", "key={redacted:google-api-key}"),
        (
            "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "//registry.npmjs.org/:_authToken={redacted:npm-token}",
        ),
        (
            "DOPPLER_TOKEN=dp.st.prd.AbCdEfGhIjKlMnOpQrStUvWx",
            "DOPPLER_TOKEN={redacted:doppler-token}",
        ),
        (
            f'curl -H "Authorization: Bearer {JWT}" https://x',
            'curl -H "Authorization: Bearer {redacted:jwt}" https://x',
        ),
        (
            "curl -H 'Authorization: token abc123def456ghi789' https://x",
            "curl -H 'Authorization: token {redacted:authorization}' https://x",
        ),
        (
            '{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}',
            '{"Authorization": "Basic {redacted:authorization}"}',
        ),
        (
            "postgres://app:s3cr3t@db.internal:5432/app",
            "postgres://app:{redacted:url-password}@db.internal:5432/app",
        ),
        ("redis://:p4ssw0rd@cache:6379/0", "redis://:{redacted:url-password}@cache:6379/0"),
        ("curl -u admin:Adm1nPass https://x", "curl -u admin:{redacted:basic-auth} https://x"),
        ("mysql -h db -u root -phunter2 app", "mysql -h db -u root -p{redacted:password} app"),
        (
            "docker login -u ci -p Pa55word registry.example.com",
            "docker login -u ci -p {redacted:password} registry.example.com",
        ),
        ("sshpass -p 'Pa55 word' ssh host", "sshpass -p '{redacted:password}' ssh host"),
        ("redis-cli -h cache -a Pa55word ping", "redis-cli -h cache -a {redacted:password} ping"),
        (
            "az login --service-principal -u app-id -p Xy7~secretValue --tenant t",
            "az login --service-principal -u app-id -p {redacted:password} --tenant t",
        ),
        (
            "ldapsearch -x -D cn=admin -w Adm1n -b dc=x",
            "ldapsearch -x -D cn=admin -w {redacted:password} -b dc=x",
        ),
        ('$env:DB_PASSWORD="hunter2"', '$env:DB_PASSWORD="{redacted:db-password}"'),
        (
            "openssl pkcs12 -export -passout pass:Exp0rtPass -out x.p12",
            "openssl pkcs12 -export -passout pass:{redacted:password} -out x.p12",
        ),
        ("pg_dump --password=hunter2 app", "pg_dump --password={redacted:password} app"),
        ("vault login --token hvs.CAESIAbCdEf", "vault login --token {redacted:token}"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD={redacted:pgpassword} psql"),
        ("DB_PASSWORD=hunter2 ./migrate.sh", "DB_PASSWORD={redacted:db-password} ./migrate.sh"),
        ('DB_PASSWORD="two words"', 'DB_PASSWORD="{redacted:db-password}"'),
        ("MYSQL_PWD=hunter2", "MYSQL_PWD={redacted:mysql-pwd}"),
        (
            "--set postgresql.auth.password=hunter2",
            "--set postgresql.auth.password={redacted:postgresql-auth-password}",
        ),
        (
            "kubectl create secret generic db --from-literal=password=hunter2",
            "kubectl create secret generic db --from-literal=password={redacted:password}",
        ),
        (
            '{"client_secret": "abc\\"def", "name": "x"}',
            '{"client_secret": "{redacted:client-secret}", "name": "x"}',
        ),
        ("api_key: 8f2b1c9d0e", "api_key: {redacted:api-key}"),
        ("- **Password**: `hunter2`", "- **Password**: `{redacted:password}`"),
        ("**API token**: tok_8f2b1c9d0e", "**API token**: {redacted:token}"),
        ("webhookSecret: whsec_AbCdEfGhIjKlMnOpQrStUvWx", "webhookSecret: {redacted:stripe-key}"),
        (
            "https://api.example.com/cb?token=abc123XYZ&next=1",
            "https://api.example.com/cb?token={redacted:token}&next=1",
        ),
        (JWT, "{redacted:jwt}"),
        ("VAULT_TOKEN=hvs.CAESIJ1aBcDeFgHiJkLmNoPqRsTuVwXyZ", "VAULT_TOKEN={redacted:api-token}"),
        ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "{redacted:api-token}"),
        (
            "docker login -u ci --password-stdin <<< dckr_pat_AbCdEfGhIjKlMnOpQrSt",
            "docker login -u ci --password-stdin <<< {redacted:api-token}",
        ),
        (
            ".dockerconfigjson: eyJhdXRocyI6eyJnaGNyLmlvIjp7ImF1dGgiOiJZV3hwWTJVNmMyVmpjbVYwIn19fQ"
            "eyJhdXRocyI6eyJnaGNyLmlvIjp7ImF1dGgiOiJZV3hwWTJVNmMyVmpjbVYwIn19fQ==",
            ".dockerconfigjson: {redacted:encoded-credential}",
        ),
    ],
)
def test_redacts(text: str, expected: str) -> None:
    out, count = redact(text)
    assert out == expected
    assert count >= 1
    assert redact(out) == (out, 0)  # idempotent


def test_pem_block_multiline_and_truncated() -> None:
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACB\n-----END OPENSSH PRIVATE KEY-----\nnext"
    out, count = redact(pem)
    assert out == (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{redacted:private-key}\n"
        "-----END OPENSSH PRIVATE KEY-----\nnext"
    )
    assert count == 1
    cut, n = redact("key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
    assert "MIIEvQ" not in cut and n == 1
    escaped, _ = redact(
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\n-----END PRIVATE KEY-----\\n"'
    )
    assert "MIIEvQ" not in escaped


def test_command_output_excerpts() -> None:
    output = """apiVersion: v1
data:
  password: aHVudGVyMg==
  username: YXBw
kind: Secret
---
$ printenv | sort
DATABASE_URL=postgres://app:pa55w0rd@db.internal:5432/app
GITHUB_TOKEN=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8
HOME=/home/deploy
"Env": ["DB_PASSWORD=hunter2", "LOG_LEVEL=info"]
"""
    out, count = redact(output)
    for secret in ("aHVudGVyMg==", "pa55w0rd", "ghp_A1b2", "hunter2"):
        assert secret not in out
    assert count == 4
    assert "username: YXBw" in out and "HOME=/home/deploy" in out and "LOG_LEVEL=info" in out


def test_counts_every_secret() -> None:
    text = f"A={GH} B=AKIAIOSFODNN7EXAMPLE postgres://u:pw123@h/db DB_PASSWORD=x1y2z3"
    out, count = redact(text)
    assert count == 4
    assert not contains_secret(out)


@pytest.mark.parametrize(
    "text",
    [
        "git checkout 3f9c2e1a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
        "docker pull app@sha256:" + "9b2c6a0e" * 8,
        "request 0b8f0c8e-1a2b-4c3d-9e8f-123456789abc failed",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf",
        "aws secretsmanager get-secret-value --secret-id prod/db/password",
        "image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1.2.3",
        "token_count=5 max_tokens=100 password_file=/run/secrets/db",
        "Error: invalid token: expired",
        "psql --no-password -h db app",
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "ansible-playbook --ask-vault-pass site.yml",
        "echo $GITHUB_TOKEN ${DB_PASSWORD} $(cat /run/secrets/token)",
        "password={token} secret=*** api_key=<redacted> token=REDACTED key=$KEY",
        'DB_PASSWORD="${{ secrets.DB_PASSWORD }}"',
        "PWD=/home/deploy OLDPWD=/tmp",
        "docker run -u 1000:1000 app",
        "mysql -h db -u root -p app",
        "the disk-space check passed; task-runner finished",
        "(using password: YES)",
        "Authorization: Bearer $TOKEN",
        "a JWT in `Authorization: Bearer …` and `docker login -u AWS -p …` and `DOPPLER_TOKEN=…`",
        "password = var.db_password",
        'password = os.environ["DB_PASSWORD"]',
        "api_key=get_secret(name)",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "DB_PASSWORD=process.env.DB_PASSWORD",
    ],
)
def test_leaves_non_secrets_alone(text: str) -> None:
    assert redact(text) == (text, 0)
    assert not contains_secret(text)


def test_rules_are_data() -> None:
    names = [rule.name for rule in RULES]
    assert names.index("private-key") < names.index("assignment")
    assert names.index("jwt") < names.index("authorization")
    assert names.index("anthropic-key") < names.index("openai-key")
    for rule in RULES:
        assert isinstance(rule.pattern, re.Pattern)
        assert all(g in rule.pattern.groupindex for g in rule.groups)
    assert redacted_marker("db-password") == "{redacted:db-password}"


@PROPS
@given(st.text(max_size=200))
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    out, _ = redact(text)
    assert redact(out) == (out, 0)


_LINE = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789 :=-./\"'{}[],", max_size=30), max_size=4
).map("\n".join)


@PROPS
@given(_LINE, SECRETS, _LINE)
def test_planted_secret_never_survives_in_output(
    before: str, secret: tuple[str, str], after: str
) -> None:
    value, planted = secret
    out, count = redact(f"{before}\n{planted}\n{after}")
    assert value not in out
    assert count >= 1


def test_a_secret_seen_once_is_redacted_where_it_is_echoed() -> None:
    text = (
        "export PGPASSWORD=S3cretPass99\npsql -h db -U app --password S3cretPass99 -c 'select 1'\n"
    )
    out, n = redact(text)
    assert "S3cretPass99" not in out
    assert n == 2
    assert redact(out) == (out, 0)  # idempotent


def test_known_values_from_elsewhere_and_short_values_stay() -> None:
    known = secret_values("DB_PASSWORD=hunter2 API_TOKEN=Zq8sPl4xWv2Rk9")
    assert set(known) == {"hunter2", "Zq8sPl4xWv2Rk9"}
    # a long odd value is swept anywhere; a short one ("hunter2" < 8 chars) only where a rule sees it
    out, _ = redact("curl -u ops:x https://a/?q=Zq8sPl4xWv2Rk9 hunter2", known)
    assert "Zq8sPl4xWv2Rk9" not in out
    assert "hunter2" in out


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db-password", True),
        ("DB_PASSWORD", True),
        ("api-token", True),
        ("apiKey", True),
        ("api-key", True),
        ("client_secret", True),
        ("pass", True),
        ("pwd", True),
        ("db-pass", True),
        ("bypass", False),
        ("secret-name", False),  # the name of a Kubernetes secret is no secret
        ("author", False),
        ("image-tag", False),
    ],
)
def test_is_secret_key(name: str, secret: bool) -> None:
    assert is_secret_key(name) is secret


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("\x1b[32mok\x1b[0m", "ok"),
        ("\x1b[36;1mkubectl apply\x1b[0m", "kubectl apply"),
        ("\x1b[?25lspinner\x1b[?25h", "spinner"),  # private CSI parameters
        ("\x1b]0;deploy@bastion: ~\x07$ ls", "$ ls"),  # OSC title, BEL-terminated
        ("\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST
        ("\x1b]133;A\nnext line", "\nnext line"),  # unterminated OSC ends at the line end
        ("\x1b(Bplain\x1b(0q\x1b(B", "plainq"),  # charset selects
        ("\x1b7saved\x1b8\x1b=", "saved"),  # single-character sequences
        ("\x1bPtmux;payload\x1b\\after", "after"),  # DCS string
        ("no escapes at all", "no escapes at all"),
    ],
)
def test_strip_ansi(raw: str, plain: str) -> None:
    assert strip_ansi(raw) == plain

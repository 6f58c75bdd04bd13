"""Alarm definitions: describe-alarms JSON, CloudFormation, Terraform, Prometheus rules."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import AlarmDef, EvidenceKind
from runbook.sources.alarms import parse, split_promql_threshold

DATA = Path(__file__).parent / "data" / "machine" / "alarms"


def _alarms(name: str) -> dict[str, AlarmDef]:
    pf = parse((DATA / name).read_text(encoding="utf-8"), f"ops/{name}", Config())
    assert pf.kind is EvidenceKind.ALARM
    assert pf.diagnostics == ()
    return {a.name: a for a in pf.alarms}


def test_describe_alarms_json() -> None:
    alarms = _alarms("describe-alarms.json")
    assert sorted(alarms) == [
        "checkout-api-5xx-critical",
        "orders-error-rate",
        "report-worker-p99-duration",
    ]
    a = alarms["checkout-api-5xx-critical"]
    assert (a.metric, a.namespace, a.statistic) == ("5XXError", "AWS/ApiGateway", "Sum")
    assert (a.comparison, a.threshold, a.period) == (">=", "5", "60s")
    assert a.evaluation == "2 of 3 × 60s" and a.window_s == 180.0
    assert a.action == "arn:aws:sns:eu-west-1:123456789012:oncall-pager"
    assert a.dimensions == ("ApiName=checkout", "Stage=prod")
    assert a.severity == "critical" and a.tool == "cloudwatch"
    assert a.source.path == "ops/describe-alarms.json" and a.source.line == 4
    p99 = alarms["report-worker-p99-duration"]
    assert (p99.statistic, p99.threshold, p99.comparison, p99.window_s) == (
        "p99",
        "12000",
        ">",
        300.0,
    )
    math = alarms["orders-error-rate"]
    assert math.expression == "100 * errors / invocations"
    assert math.metric == "Errors, Invocations" and math.window_s == 300.0


def test_cloudformation_with_short_form_tags() -> None:
    alarms = _alarms("template.yaml")
    assert sorted(alarms) == ["${Stage}-report-worker-errors", "ReportWorkerThrottlesAlarm"]
    errors = alarms["${Stage}-report-worker-errors"]
    assert errors.tool == "cloudformation" and errors.source.line == 21
    assert errors.action == "!Ref AlertTopic"
    assert errors.dimensions == ("FunctionName=!Ref ReportWorkerFunction",)
    assert errors.evaluation == "3 of 5 × 60s" and errors.window_s == 300.0
    assert errors.severity == "critical"
    throttles = alarms["ReportWorkerThrottlesAlarm"]  # no AlarmName: the logical id names it
    assert throttles.dimensions == ("FunctionName=!GetAtt ReportWorkerFunction.Arn",)
    assert throttles.action == "!ImportValue ${Stage}-warning-topic"
    assert (throttles.comparison, throttles.threshold) == (">", "0")


def test_cloudformation_json_intrinsics() -> None:
    text = (
        '{"Resources": {"HighCpu": {"Type": "AWS::CloudWatch::Alarm", "Properties": {'
        '"AlarmName": {"Fn::Sub": "${Env}-cpu"}, "MetricName": "CPUUtilization",'
        '"Period": 300, "EvaluationPeriods": 2, "Threshold": 90,'
        '"ComparisonOperator": "GreaterThanThreshold",'
        '"AlarmActions": [{"Ref": "Topic"}]}}}}'
    )
    (alarm,) = parse(text, "cfn/stack.json", Config()).alarms
    assert (alarm.name, alarm.action, alarm.window_s) == ("${Env}-cpu", "!Ref Topic", 600.0)


def test_terraform() -> None:
    alarms = _alarms("monitoring.tf")
    assert sorted(alarms) == ["${var.env}-api-latency-warning", "orders-queue-depth"]
    lat = alarms["${var.env}-api-latency-warning"]
    assert (lat.metric, lat.statistic, lat.comparison, lat.threshold) == (
        "Latency",
        "p95",
        ">",
        "800",
    )
    assert lat.action == "aws_sns_topic.alerts.arn" and lat.severity == "warning"
    assert lat.source.line == 10 and lat.tool == "terraform"
    depth = alarms["orders-queue-depth"]
    assert depth.dimensions == ("QueueName=orders",) and depth.severity == "critical"
    assert depth.evaluation == "2 × 300s" and depth.window_s == 600.0


def test_prometheus_rules() -> None:
    alarms = _alarms("alerts.rules.yml")
    assert sorted(alarms) == [
        "CheckoutHighErrorRate",
        "CheckoutPodsRestarting",
        "PostgresReplicationLag",
    ]
    rate = alarms["CheckoutHighErrorRate"]
    assert rate.comparison == ">" and rate.threshold == "0.05"
    assert rate.metric.startswith("sum(rate(http_requests_total{")
    assert rate.window_s == 600.0 and rate.evaluation == "for 10m"
    assert rate.severity == "critical" and rate.action == "payments"
    assert rate.runbook_url.endswith("2025-03-01-incident-response-checkout.md")
    assert rate.summary == "Checkout 5xx ratio above 5% for 10 minutes"
    assert rate.source.line == 6
    lag = alarms["PostgresReplicationLag"]  # "30 < x" reads as "x > 30"
    assert (lag.metric, lag.comparison, lag.threshold) == ("pg_replication_lag_seconds", ">", "30")


def test_prometheus_rule_crd() -> None:
    text = """apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: api
spec:
  groups:
    - name: api
      rules:
        - alert: ApiDown
          expr: up{job="api"} == 0
          for: 2m
          labels: {severity: page}
"""
    (alarm,) = parse(text, "k8s/rules.yaml", Config()).alarms
    assert (alarm.name, alarm.comparison, alarm.threshold, alarm.window_s) == (
        "ApiDown",
        "==",
        "0",
        120.0,
    )
    assert alarm.severity == "page" and alarm.source.line == 9


def test_malformed_files_give_diagnostics_with_lines() -> None:
    bad_tf = parse((DATA / "broken.tf").read_text(), "broken.tf", Config())
    assert bad_tf.alarms == () and bad_tf.diagnostics[0].source.line == 3
    assert bad_tf.diagnostics[0].message.startswith("invalid HCL")
    bad_yaml = parse((DATA / "bad-rules.yml").read_text(), "bad-rules.yml", Config())
    assert bad_yaml.alarms == () and bad_yaml.diagnostics[0].source.line == 6
    bad_json = parse('{"MetricAlarms": [', "a.json", Config())
    assert bad_json.diagnostics[0].message.startswith("invalid JSON")
    other = parse("name: not alarms\n", "x.yaml", Config())
    assert other.alarms == () and "no alarm" in other.diagnostics[0].message


def test_split_promql_threshold() -> None:
    assert split_promql_threshold("rate(x[5m]) > bool 0.5") == ("rate(x[5m])", ">", "0.5")
    assert split_promql_threshold("absent(up{job='a'})") == ("absent(up{job='a'})", "", "")
    assert split_promql_threshold("(a > 1) and (b < 2)") == ("(a > 1) and (b < 2)", "", "")


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('{}[]":, \nabc-!Ref123=resource"groups')), max_size=200),
    st.sampled_from(["a.json", "b.yml", "c.tf"]),
)
def test_fuzz_never_crashes(text: str, name: str) -> None:
    pf = parse(text, name, Config())
    assert all(a.source.path == name for a in pf.alarms)

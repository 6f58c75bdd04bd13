"""Alert definitions: CloudWatch (describe-alarms JSON, CloudFormation/SAM, Terraform) and Prometheus.

Sample input (``aws cloudwatch describe-alarms --output json``):
``{"MetricAlarms": [{"AlarmName": "api-5xx", "MetricName": "5XXError", "Threshold": 5.0, ...}]}``

Every format becomes ``AlarmDef`` objects whose ``source`` points at the line that defines the
alarm. CloudFormation YAML uses short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``) that a plain
SafeLoader rejects; a loader subclass turns any ``!Tag`` into readable text instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import yaml

from runbook.config import Config
from runbook.model import AlarmDef, Diagnostic, EvidenceKind, ParsedFile, SourceRef
from runbook.timeparse import parse_duration

_COMPARISON = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside band",
    "LessThanLowerThreshold": "< lower band",
    "GreaterThanUpperThreshold": "> upper band",
}
_SEVERITY_WORDS = (
    (re.compile(r"\b(?:critical|crit|sev[-_ ]?[01]|p[01]|page)\b", re.I), "critical"),
    (re.compile(r"\b(?:warning|warn|sev[-_ ]?[23]|p[23])\b", re.I), "warning"),
)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags as text (``!Ref Topic`` → "!Ref Topic")."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    tag = "!" + suffix
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        value = ""
    if tag == "!Sub" and isinstance(value, str):
        return value  # the template string reads better than the tag
    return f"{tag} {_text(value)}".strip()


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def _text(value: Any) -> str:
    """Readable text for a scalar or a CloudFormation intrinsic (JSON form included)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), *_ = value.items()
        if key == "Ref":
            return f"!Ref {_text(inner)}"
        if key == "Fn::Sub":
            return _text(inner[0]) if isinstance(inner, list) and inner else _text(inner)
        if key == "Fn::GetAtt":
            return "!GetAtt " + (
                ".".join(map(_text, inner)) if isinstance(inner, list) else _text(inner)
            )
        if isinstance(key, str) and key.startswith("Fn::"):
            return f"!{key[4:]} {_text(inner)}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds) if float(seconds).is_integer() else seconds
    return f"{s}s"


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _severity(*texts: str) -> str:
    for rx, level in _SEVERITY_WORDS:
        if any(rx.search(t) for t in texts if t):
            return level
    return ""


def _line_of(lines: list[str], needle: str, start: int = 0) -> int:
    """1-based line of the first occurrence of ``needle`` at or after ``start`` (0 if absent)."""
    if not needle:
        return 0
    for i in range(max(start, 0), len(lines)):
        if needle in lines[i]:
            return i + 1
    return 0


# ------------------------------------------------------------------ dispatch


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """Read one alarm definition file, whichever of the supported formats it is."""
    del config  # no settings apply
    name = PurePosixPath(rel).name.lower()
    lines = text.split("\n")
    alarms: list[AlarmDef] = []
    diags: list[Diagnostic] = []
    if name.endswith((".tf", ".hcl")):
        alarms, diags = _terraform(text, rel, lines)
    else:
        docs, diags = _load_documents(text, rel, name)
        for doc in docs:
            alarms.extend(_from_document(doc, rel, lines))
        if docs and not alarms and not diags:
            diags.append(Diagnostic(SourceRef(rel), "no alarm or alerting rule definitions found"))
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.ALARM,
        alarms=tuple(sorted(alarms, key=lambda a: (a.source, a.name))),
        diagnostics=tuple(diags),
    )


def _load_documents(text: str, rel: str, name: str) -> tuple[list[Any], list[Diagnostic]]:
    if name.endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            return [json.loads(text)], []
        except json.JSONDecodeError as exc:
            if name.endswith(".json"):
                return [], [
                    Diagnostic(SourceRef(rel, exc.lineno), f"invalid JSON: {exc.msg}", "error")
                ]
        except RecursionError:
            return [], [Diagnostic(SourceRef(rel), "invalid JSON: nested too deeply", "error")]
    try:
        return [d for d in yaml.load_all(text, Loader=_CfnLoader) if d is not None], []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [], [Diagnostic(SourceRef(rel, line), f"invalid YAML: {problem}", "error")]
    except (ValueError, RecursionError) as exc:
        return [], [Diagnostic(SourceRef(rel), f"invalid YAML: {exc}", "error")]


def _from_document(doc: Any, rel: str, lines: list[str]) -> Iterator[AlarmDef]:
    if isinstance(doc, list):
        for item in doc:
            if isinstance(item, dict) and "AlarmName" in item:
                yield _cloudwatch(item, rel, lines)
        return
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("MetricAlarms"), list) or isinstance(doc.get("CompositeAlarms"), list):
        for item in doc.get("MetricAlarms") or []:
            if isinstance(item, dict):
                yield _cloudwatch(item, rel, lines)
        for item in doc.get("CompositeAlarms") or []:
            if isinstance(item, dict):
                yield _composite(item, rel, lines)
    elif "AlarmName" in doc and ("MetricName" in doc or "Metrics" in doc):
        yield _cloudwatch(doc, rel, lines)  # put-metric-alarm --cli-input-json
    elif isinstance(doc.get("Resources"), dict):
        yield from _cloudformation(doc["Resources"], rel, lines)
    else:
        groups = doc.get("groups")
        spec = doc.get("spec")
        if groups is None and isinstance(spec, dict):
            groups = spec.get("groups")  # Kubernetes PrometheusRule
        if isinstance(groups, list):
            yield from _prometheus(groups, rel, lines)


# ------------------------------------------------------------------ CloudWatch


def _metric_math(metrics: Any) -> tuple[str, str, float | None]:
    """(metric, expression, period) for an alarm on metric math (``Metrics`` list)."""
    if not isinstance(metrics, list):
        return "", "", None
    names: list[str] = []
    expression = ""
    period: float | None = None
    for m in metrics:
        if not isinstance(m, dict):
            continue
        if m.get("Expression") and (m.get("ReturnData") in (True, None, "true")):
            expression = _text(m.get("Expression"))
        stat = m.get("MetricStat")
        if isinstance(stat, dict) and isinstance(stat.get("Metric"), dict):
            names.append(_text(stat["Metric"].get("MetricName")))
            period = period if period is not None else _num(stat.get("Period"))
    return ", ".join(sorted(set(filter(None, names)))), expression, period


def _dimensions(dims: Any) -> tuple[str, ...]:
    out: list[str] = []
    if isinstance(dims, list):
        for d in dims:
            if isinstance(d, dict):
                out.append(f"{_text(d.get('Name'))}={_text(d.get('Value'))}")
    elif isinstance(dims, dict):
        out.extend(f"{k}={_text(v)}" for k, v in dims.items())
    return tuple(sorted(out))


def _cloudwatch_fields(props: dict[str, Any], name: str, source: SourceRef, tool: str) -> AlarmDef:
    """Shared mapping of CloudWatch alarm properties (API, CloudFormation and Terraform spellings)."""

    def get(*keys: str) -> Any:
        for k in keys:
            if k in props and props[k] is not None:
                return props[k]
        return None

    metric = _text(get("MetricName", "metric_name"))
    expression = ""
    period_s = _num(get("Period", "period"))
    if not metric:
        metric, expression, math_period = _metric_math(get("Metrics", "metric_query"))
        period_s = period_s if period_s is not None else math_period
    periods = _num(get("EvaluationPeriods", "evaluation_periods"))
    datapoints = _num(get("DatapointsToAlarm", "datapoints_to_alarm"))
    window = period_s * periods if period_s is not None and periods is not None else None
    evaluation = ""
    if periods is not None:
        n = int(periods)
        evaluation = f"{n} × {_seconds_text(period_s)}" if period_s is not None else f"{n} periods"
        if datapoints is not None and int(datapoints) != n:
            evaluation = f"{int(datapoints)} of {evaluation}"
    actions = get("AlarmActions", "alarm_actions")
    action = ", ".join(_text(a) for a in actions) if isinstance(actions, list) else _text(actions)
    comparison_raw = _text(get("ComparisonOperator", "comparison_operator"))
    description = _text(get("AlarmDescription", "alarm_description"))
    stat = _text(get("ExtendedStatistic", "extended_statistic", "Statistic", "statistic"))
    tags = get("Tags", "tags")
    tag_text = _text(tags) if tags is not None else ""
    return AlarmDef(
        name=name,
        source=source,
        metric=metric,
        comparison=_COMPARISON.get(comparison_raw, comparison_raw),
        threshold=_text(get("Threshold", "threshold")),
        period=_seconds_text(period_s),
        evaluation=evaluation,
        severity=_severity(tag_text, name, description),
        action=action,
        expression=expression,
        tool=tool,
        namespace=_text(get("Namespace", "namespace")),
        statistic=stat,
        dimensions=_dimensions(get("Dimensions", "dimensions")),
        period_s=period_s,
        window_s=window,
        summary=description,
    )


def _cloudwatch(item: dict[str, Any], rel: str, lines: list[str]) -> AlarmDef:
    name = _text(item.get("AlarmName"))
    line = _line_of(lines, json.dumps(name)) or _line_of(lines, name)
    return _cloudwatch_fields(item, name, SourceRef(rel, line), "cloudwatch")


def _composite(item: dict[str, Any], rel: str, lines: list[str]) -> AlarmDef:
    name = _text(item.get("AlarmName"))
    actions = item.get("AlarmActions")
    description = _text(item.get("AlarmDescription"))
    return AlarmDef(
        name=name,
        source=SourceRef(rel, _line_of(lines, json.dumps(name)) or _line_of(lines, name)),
        expression=_text(item.get("AlarmRule")),
        action=", ".join(map(_text, actions)) if isinstance(actions, list) else "",
        severity=_severity(name, description),
        tool="cloudwatch",
        summary=description,
    )


def _cloudformation(resources: dict[str, Any], rel: str, lines: list[str]) -> Iterator[AlarmDef]:
    for logical_id, res in resources.items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = res.get("Properties")
        if not isinstance(props, dict):
            props = {}
        name = _text(props.get("AlarmName")) or str(logical_id)
        line = _line_of(lines, f"{logical_id}:") or _line_of(lines, f'"{logical_id}"')
        yield _cloudwatch_fields(props, name, SourceRef(rel, line), "cloudformation")


# ------------------------------------------------------------------ Terraform


def _hcl_value(value: Any) -> Any:
    """python-hcl2 ≥ 5 keeps string quotes and wraps references in ``${}``: unwrap both."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        if value.startswith("${") and value.endswith("}") and value.count("${") == 1:
            return value[2:-1]
        return value
    if isinstance(value, list):
        return [_hcl_value(v) for v in value]
    if isinstance(value, dict):
        return {_hcl_value(k): _hcl_value(v) for k, v in value.items() if k != "__is_block__"}
    return value


def _terraform(text: str, rel: str, lines: list[str]) -> tuple[list[AlarmDef], list[Diagnostic]]:
    try:
        import hcl2
    except ImportError:  # pragma: no cover - declared dependency
        return [], [Diagnostic(SourceRef(rel), "python-hcl2 is not installed", "error")]
    try:
        data = hcl2.loads(text)
    except Exception as exc:  # lark raises many error types; any of them means bad HCL
        m = re.search(r"line (\d+)", str(exc))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], [
            Diagnostic(
                SourceRef(rel, int(m.group(1)) if m else 0), f"invalid HCL: {first}", "error"
            )
        ]
    out: list[AlarmDef] = []
    for block in _as_list(data.get("resource") if isinstance(data, dict) else None):
        if not isinstance(block, dict):
            continue
        for rtype, named in _hcl_value(block).items():
            if rtype != "aws_cloudwatch_metric_alarm" or not isinstance(named, dict):
                continue
            for label, body in named.items():
                for props in _as_list(body):
                    if not isinstance(props, dict):
                        continue
                    name = _text(props.get("alarm_name")) or str(label)
                    line = _line_of(lines, f'"{label}"')
                    out.append(_cloudwatch_fields(props, name, SourceRef(rel, line), "terraform"))
    return out, []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ Prometheus

_CMP = re.compile(r"(>=|<=|==|!=|>|<)\s*(?:bool\s+)?(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_CMP_LEFT = re.compile(r"^\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(>=|<=|==|!=|>|<)(?:\s*bool)?")
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


def split_promql_threshold(expr: str) -> tuple[str, str, str]:
    """(left side, comparison, threshold) of an alert expression ``rate(x[5m]) > 0.05``."""
    one = " ".join(expr.split())
    if m := _CMP.search(one):
        left = one[: m.start()].strip()
        if _balanced(left):
            return left, m.group(1), m.group(2)
    if m := _CMP_LEFT.match(one):
        right = one[m.end() :].strip()
        if _balanced(right):
            return right, _FLIP[m.group(2)], m.group(1)
    return one, "", ""


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _prometheus(groups: Iterable[Any], rel: str, lines: list[str]) -> Iterator[AlarmDef]:
    cursor = 0
    for group in groups:
        if not isinstance(group, dict):
            continue
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict) or "alert" not in rule:
                continue  # recording rules are not alerts
            name = _text(rule.get("alert"))
            line = _line_of(lines, f"alert: {name}", cursor) or _line_of(lines, name, cursor)
            cursor = line or cursor
            expr = _text(rule.get("expr"))
            metric, comparison, threshold = split_promql_threshold(expr)
            raw_labels, raw_notes = rule.get("labels"), rule.get("annotations")
            labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
            notes: dict[str, Any] = raw_notes if isinstance(raw_notes, dict) else {}
            wait = _text(rule.get("for"))
            window = parse_duration(wait) if wait else None
            summary = _text(notes.get("summary")) or _text(notes.get("description"))
            yield AlarmDef(
                name=name,
                source=SourceRef(rel, line),
                metric=metric,
                comparison=comparison,
                threshold=threshold,
                period="",
                evaluation=f"for {wait}" if wait else "",
                severity=_text(labels.get("severity")) or _severity(name),
                action=_text(labels.get("team") or labels.get("receiver")),
                runbook_url=_text(notes.get("runbook_url") or notes.get("runbook")),
                expression=expr.strip(),
                tool="prometheus",
                window_s=window,
                summary=" ".join(summary.split()),
            )

"""Alarms, their SNS topic and a CloudWatch dashboard for a stage (infra/README.md,
"Alarms": what each means and what to do when it fires).

The email metrics are the embedded metrics of emailsched.adapters.metrics (namespace
`emailsched`, dimension `service` = `emailsched-<stage>`, set by chalice_config as
POWERTOOLS_SERVICE_NAME). Everything is read before it is written: a run with nothing to
change writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emailsched.adapters.metrics import NAMESPACE
from emailsched_infra.stage import APP_NAME, IMPORTS, PUMP, REPLIES, SENDER, Stage

# Thresholds (README "Alarms").
FAILURE_RATE_PERCENT = 5.0
HARD_BOUNCE_RATE_PERCENT = 2.0
OLDEST_MESSAGE_SECONDS = 1800  # delays are at most 900 s: twice that means nobody consumes
RATE_PERIOD_SECONDS = 900
# Rates need this many finished emails in the period before they mean anything.
RATE_MINIMUM_EMAILS = 50


def service(stage: Stage) -> str:
    return f"{APP_NAME}-{stage.name}"


def topic_name(stage: Stage) -> str:
    return f"{APP_NAME}-{stage.name}-alarms"


def dashboard_name(stage: Stage) -> str:
    return f"{APP_NAME}-{stage.name}"


def _metric(namespace: str, name: str, dims: dict[str, str], stat: str,
            period: int) -> dict[str, Any]:
    return {"Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
            "Period": period, "Stat": stat}


def _rate_alarm(stage: Stage, name: str, numerator: dict[str, str], threshold: float,
                description: str) -> dict[str, Any]:
    own = {"service": service(stage)}
    queries = [
        {"Id": "bad", "MetricStat": _metric(NAMESPACE, "emails_failed", {**own, **numerator},
                                            "Sum", RATE_PERIOD_SECONDS), "ReturnData": False},
        {"Id": "failed", "MetricStat": _metric(NAMESPACE, "emails_failed", own, "Sum",
                                               RATE_PERIOD_SECONDS), "ReturnData": False},
        {"Id": "sent", "MetricStat": _metric(NAMESPACE, "emails_sent", own, "Sum",
                                             RATE_PERIOD_SECONDS), "ReturnData": False},
        # Below RATE_MINIMUM_EMAILS finished emails the rate reads 0: one bounce of three
        # is not an incident.
        {"Id": "rate", "Label": f"{name} %", "ReturnData": True,
         "Expression": f"IF((FILL(sent, 0) + FILL(failed, 0)) >= {RATE_MINIMUM_EMAILS}, "
                       "100 * FILL(bad, 0) / (FILL(sent, 0) + FILL(failed, 0)), 0)"},
    ]
    return {"AlarmName": f"{service(stage)}-{name}", "AlarmDescription": description,
            "Metrics": queries, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1, "TreatMissingData": "notBreaching"}


def _simple(stage: Stage, name: str, namespace: str, metric: str, dims: dict[str, str],
            stat: str, period: int, operator: str, threshold: float, periods: int,
            missing: str, description: str) -> dict[str, Any]:
    return {"AlarmName": f"{service(stage)}-{name}", "AlarmDescription": description,
            "Namespace": namespace, "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            "Statistic": stat, "Period": period, "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods, "Threshold": threshold,
            "ComparisonOperator": operator, "TreatMissingData": missing}


def alarm_definitions(stage: Stage) -> list[dict[str, Any]]:
    """PutMetricAlarm arguments (without the actions)."""
    return [
        _simple(stage, "dead-letters", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                {"QueueName": stage.dead_letter_queue_name}, "Maximum", 60,
                "GreaterThanThreshold", 0, 1, "notBreaching",
                "A message reached the dead-letter queue: a poison message or a bug."),
        _simple(stage, "sender-errors", "AWS/Lambda", "Errors",
                {"FunctionName": stage.function_name(SENDER)}, "Sum", 300,
                "GreaterThanOrEqualToThreshold", 1, 1, "notBreaching",
                "The sender function raised: its messages come back and may dead-letter."),
        _simple(stage, "replies-errors", "AWS/Lambda", "Errors",
                {"FunctionName": stage.function_name(REPLIES)}, "Sum", 900,
                "GreaterThanOrEqualToThreshold", 1, 1, "notBreaching",
                "The reply poller raised (or timed out): replies and bounce reports wait, "
                "follow-ups to those recipients may still go out."),
        _simple(stage, "imports-errors", "AWS/Lambda", "Errors",
                {"FunctionName": stage.function_name(IMPORTS)}, "Sum", 900,
                "GreaterThanOrEqualToThreshold", 1, 1, "notBreaching",
                "The import function raised (or timed out): the job is received again and "
                "resumes from its checkpoint; repeated, it dead-letters."),
        _simple(stage, "import-dead-letters", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                {"QueueName": stage.import_dead_letter_queue_name}, "Maximum", 60,
                "GreaterThanThreshold", 0, 1, "notBreaching",
                "An import job reached its dead-letter queue: that list's batch is not "
                "being created (see the import's status and the function's logs)."),
        _simple(stage, "pump-stopped", "AWS/Lambda", "Invocations",
                {"FunctionName": stage.function_name(PUMP)}, "Sum", 300,
                "LessThanThreshold", 1, 1, "breaching",
                "The pump has not run for 5 minutes: nothing new reaches the send queue."),
        _rate_alarm(stage, "failure-rate", {}, FAILURE_RATE_PERCENT,
                    f"More than {FAILURE_RATE_PERCENT:g} % of finished emails failed "
                    f"in {RATE_PERIOD_SECONDS // 60} minutes."),
        _rate_alarm(stage, "hard-bounce-rate", {"class": "hard_bounce"},
                    HARD_BOUNCE_RATE_PERCENT,
                    f"More than {HARD_BOUNCE_RATE_PERCENT:g} % of finished emails hard-bounced "
                    f"in {RATE_PERIOD_SECONDS // 60} minutes: a bad list, or a spoofed sender."),
        _simple(stage, "send-queue-age", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                {"QueueName": stage.queue_name}, "Maximum", 300, "GreaterThanThreshold",
                OLDEST_MESSAGE_SECONDS, 2, "notBreaching",
                f"A send message has waited over {OLDEST_MESSAGE_SECONDS // 60} minutes: the "
                "sender is not consuming (throttled, failing, or its mapping is off)."),
    ]


def dashboard_body(stage: Stage) -> dict[str, Any]:
    own = {"service": service(stage)}
    region = stage.region

    def widget(title: str, metrics: list[list[Any]], y: int, x: int,
               stat: str = "Sum") -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region, "stat": stat, "period": 300,
                               "view": "timeSeries", "metrics": metrics}}

    def emf(name: str, **dims: str) -> list[Any]:
        return [NAMESPACE, name, *[v for k, val in {**own, **dims}.items() for v in (k, val)]]

    return {"widgets": [
        widget("Emails", [emf("emails_sent"), emf("emails_failed"), emf("emails_deferred"),
                          emf("emails_throttled"), emf("emails_held"),
                          emf("emails_suppressed")], 0, 0),
        widget("Failures by class", [emf("emails_failed", **{"class": c}) for c in
                                     ("hard_bounce", "policy", "transient_exhausted", "other")],
               0, 12),
        widget("Send latency and lateness (p95, ms)", [emf("send_latency_ms"),
                                                       emf("lateness_ms")], 6, 0, "p95"),
        widget("Pump", [emf("pump_claimed"), emf("pump_top_ups"),
                        ["AWS/Lambda", "Invocations", "FunctionName",
                         stage.function_name(PUMP)]], 6, 12),
        widget("Queues (depth read by the pump; oldest message, s)",
               [emf("queue_depth"), emf("dead_letter_depth"),
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", stage.queue_name],
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
                 stage.dead_letter_queue_name]], 12, 0, "Maximum"),
        widget("Sender function", [["AWS/Lambda", "Errors", "FunctionName",
                                    stage.function_name(SENDER)],
                                   ["AWS/Lambda", "Throttles", "FunctionName",
                                    stage.function_name(SENDER)],
                                   ["AWS/Lambda", "Errors", "FunctionName",
                                    stage.function_name(REPLIES)]], 12, 12),
    ]}


@dataclass(frozen=True)
class Alarms:
    topic_arn: str
    names: list[str]
    changed: bool


def _ensure_topic(sns: Any, stage: Stage, email: str | None) -> tuple[str, bool]:
    name, changed = topic_name(stage), False
    arns = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate()
            for t in page["Topics"]]
    found = [arn for arn in arns if arn.rsplit(":", 1)[-1] == name]
    if found:
        arn = found[0]
    else:
        arn, changed = sns.create_topic(Name=name)["TopicArn"], True
    if email:
        subscribed = {s["Endpoint"] for s in
                      sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
                      if s["Protocol"] == "email"}
        if email not in subscribed:
            sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
            changed = True
    return arn, changed


_COMPARED = ("AlarmDescription", "Namespace", "MetricName", "Statistic", "Period",
             "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
             "TreatMissingData", "AlarmActions", "OKActions")


def _same(actual: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key in _COMPARED:
        if key in wanted and actual.get(key) != wanted[key]:
            return False
    if "Dimensions" in wanted and sorted(
            (d["Name"], d["Value"]) for d in actual.get("Dimensions", [])) != sorted(
            (d["Name"], d["Value"]) for d in wanted["Dimensions"]):
        return False
    if "Metrics" in wanted:
        got = {m["Id"]: (m.get("Expression"), json.dumps(m.get("MetricStat"), sort_keys=True,
                                                         default=str))
               for m in actual.get("Metrics", [])}
        want = {m["Id"]: (m.get("Expression"), json.dumps(m.get("MetricStat"), sort_keys=True))
                for m in wanted["Metrics"]}
        if got != want:
            return False
    return True


def ensure_alarms(cloudwatch: Any, sns: Any, stage: Stage, email: str | None) -> Alarms:
    topic_arn, changed = _ensure_topic(sns, stage, email)
    definitions = [{**d, "AlarmActions": [topic_arn], "OKActions": [topic_arn]}
                   for d in alarm_definitions(stage)]
    names = [d["AlarmName"] for d in definitions]
    existing = {a["AlarmName"]: a for a in
                cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    for definition in definitions:
        current = existing.get(definition["AlarmName"])
        if current is None or not _same(current, definition):
            cloudwatch.put_metric_alarm(**definition)
            changed = True
    body = json.dumps(dashboard_body(stage), sort_keys=True)
    try:
        current_body = cloudwatch.get_dashboard(
            DashboardName=dashboard_name(stage))["DashboardBody"]
    except cloudwatch.exceptions.ResourceNotFound:
        current_body = None
    if current_body is None or json.loads(current_body) != json.loads(body):
        cloudwatch.put_dashboard(DashboardName=dashboard_name(stage), DashboardBody=body)
        changed = True
    return Alarms(topic_arn, names, changed)

"""The journey's alarms, each to the alarm topic (ALARM and OK), and the composite "journey unhealthy".

- Every Lambda function of the stage has an errors alarm: the stacks alarm their own, `alarm_function_errors`
  adds one here for each function whose stack has none (the data pipeline's steps, CDK's own provider functions).
- API 5xx share and p90 latency, Bedrock throttles per model, an anomaly band on guardrail interventions,
  thumbs-down ratio and regenerate rate over the use case's thresholds (observability.yaml), quality regression
  (the evaluation's gate verdict below 1, only where a scheduled evaluation runs).
- The composite includes the evaluation's failed-executions alarm (its gate failing fails the execution).
- Data pipeline failures are the Data stack's own alarm, which the composite includes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from stacks.common.alarm_topic import notify
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.observability import journey_metrics as jm
from stacks.observability import quality_metrics as quality
from stacks.observability.settings import ObservabilitySettings
from stacks.observability.signals import JourneySignals

LAMBDA_FUNCTION = "AWS::Lambda::Function"
GENERIC_IDS = frozenset({"Resource", "Function", "Handler"})  # CDK's default child ids say nothing
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD


def _is(node: object, kind: type) -> bool:
    """``isinstance`` by the Python class hierarchy: jsii's ABC checks cost milliseconds a node on a big tree."""
    return kind in type(node).__mro__


def _own_nodes(stack: cdk.Stack) -> list[IConstruct]:
    """The constructs of ``stack``, without those of a nested stack (the kit has none; a team's may)."""
    nodes = stack.node.find_all()
    nested = [node.node.path + "/" for node in nodes if node is not stack and _is(node, cdk.Stack)]
    if not nested:
        return nodes
    return [node for node in nodes if not node.node.path.startswith(tuple(nested))]


def lambda_functions(stack: cdk.Stack) -> list[cdk.CfnResource]:
    """Every AWS::Lambda::Function of ``stack``: the kit's (`CfnFunction`) and CDK's own provider functions (a
    plain `CfnResource` of that type)."""
    found = []
    for node in _own_nodes(stack):
        if _is(node, lambda_.CfnFunction) or (
            type(node) is cdk.CfnResource and node.cfn_resource_type == LAMBDA_FUNCTION
        ):
            found.append(cast(cdk.CfnResource, node))
    return found


def functions_with_errors_alarm(stack: cdk.Stack) -> set[str]:
    """Logical ids of the functions an alarm of ``stack`` watches through AWS/Lambda Errors."""
    watched = set()
    for node in _own_nodes(stack):
        if not _is(node, cloudwatch.Alarm):
            continue
        metric = node.metric  # type: ignore[attr-defined]
        if not _is(metric, cloudwatch.Metric) or (metric.namespace, metric.metric_name) != ("AWS/Lambda", "Errors"):
            continue
        name = stack.resolve((metric.dimensions or {}).get("FunctionName"))
        if isinstance(name, dict) and "Ref" in name:
            watched.add(name["Ref"])
    return watched


def errors_alarm_id(function: cdk.CfnResource) -> str:
    """``Errors<Stack part><construct path>``, e.g. ErrorsDataStartFunction: readable, unique within the stage."""
    parts = function.node.path.split("/")[1:]  # below the stage
    kept = (re.sub(r"[^A-Za-z0-9]", "", part) for part in parts if part not in GENERIC_IDS)
    return "Errors" + "".join(kept)


def alarm_function_errors(scope: Construct, stacks: Iterable[cdk.Stack], topic: sns.ITopic) -> list[cloudwatch.Alarm]:
    """An errors alarm in ``scope`` for each function of ``stacks`` that its own stack does not alarm on."""
    added: list[cloudwatch.Alarm] = []
    for stack in stacks:
        watched = functions_with_errors_alarm(stack)
        for function in lambda_functions(stack):
            if stack.get_logical_id(function) in watched:
                continue
            path = function.node.path
            added.append(
                ThresholdAlarm(
                    scope,
                    errors_alarm_id(function),
                    description=f"The function {path} failed (AWS/Lambda Errors, 5 minutes).",
                    metric=cloudwatch.Metric(
                        namespace="AWS/Lambda",
                        metric_name="Errors",
                        dimensions_map={"FunctionName": function.ref},
                        statistic="Sum",
                        period=jm.FIVE_MINUTES,
                    ),
                    topic=topic,
                )
            )
    return added


class JourneyAlarms(Construct):
    """Exposes `alarms` (by id), `critical` (what the composite watches) and `journey_unhealthy` (None when nothing
    critical is watched)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        signals: JourneySignals,
        settings: ObservabilitySettings,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        critical: list[cloudwatch.IAlarm] = []
        api = signals.api
        if api is not None:
            critical.append(
                self._threshold(
                    "Api5xxRate",
                    f"More than {settings.api_5xx_rate_max:.0%} of the chat API's requests failed with a 5xx "
                    "in 5 minutes.",
                    jm.api_gateway(api, "5XXError", statistic="Average"),
                    settings.api_5xx_rate_max,
                )
            )
            critical.append(
                self._threshold(
                    "ApiLatencyP90",
                    f"The chat API's p90 latency exceeded {settings.api_latency_p90_ms} ms in 5 minutes.",
                    jm.api_gateway(api, "Latency", statistic="p90"),
                    settings.api_latency_p90_ms,
                )
            )
            period = cdk.Duration.minutes(settings.user_signal_period_minutes)
            self._threshold(
                "ThumbsDownRatio",
                f"More than {settings.thumbs_down_ratio_max:.0%} of the ratings in "
                f"{settings.user_signal_period_minutes} "
                f"minutes were thumbs-down (with at least {settings.min_samples} ratings).",
                jm.thumbs_down_ratio(api, min_samples=settings.min_samples, period=period),
                settings.thumbs_down_ratio_max,
            )
            self._threshold(
                "RegenerateRate",
                f"More than {settings.regenerate_rate_max:.0%} of the answers in {settings.user_signal_period_minutes} "
                f"minutes were regenerated (with at least {settings.min_samples} answers).",
                jm.per_answer_rate(
                    api, "regenerate", min_samples=settings.min_samples, period=period, label="Regenerate rate"
                ),
                settings.regenerate_rate_max,
            )
            critical += list(api.critical_alarms)
        for index, model in enumerate(signals.models):
            alarm = self._threshold(
                f"BedrockThrottles{index}",
                f"Bedrock throttled {settings.bedrock_throttles_max} or more calls to {model.model_id} ({model.role}) "
                "in 5 minutes.",
                jm.bedrock(model, "InvocationThrottles"),
                settings.bedrock_throttles_max,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )
            if model.role == "text":
                critical.append(alarm)
        if signals.guardrail is not None:
            self._guardrail_spike(signals, settings)
        if signals.quality is not None:  # without an evaluation nothing publishes GatePassed: no alarm on silence
            critical.append(
                self._threshold(
                    "QualityRegression",
                    "The last scheduled evaluation failed its gate (GatePassed below 1): a threshold or the margin to "
                    "the last accepted run was missed (see the evaluation report).",
                    jm.quality_metric(signals.usecase_id, quality.GATE_PASSED, statistic="Minimum"),
                    1,
                    comparison=BELOW,
                )
            )
            if signals.quality.failed_alarm is not None:  # a failed gate or a failed step of the evaluation
                critical.append(signals.quality.failed_alarm)
        if signals.data is not None and signals.data.failed_alarm is not None:
            critical.append(signals.data.failed_alarm)
        self.critical = critical
        # None when nothing critical is watched (no Api, Data or evaluation): a composite needs at least one alarm.
        self.journey_unhealthy: cloudwatch.CompositeAlarm | None = None
        if not critical:
            return
        self.journey_unhealthy = cloudwatch.CompositeAlarm(
            self,
            "JourneyUnhealthy",
            composite_alarm_name=f"{name_prefix}-journey-unhealthy",
            alarm_description="The journey is unhealthy: one of its critical alarms (API errors or latency, model "
            "throttling, data pipeline failures, quality regression or a failed evaluation) is in ALARM.",
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(cloudwatch.AlarmRule.from_alarm(alarm, cloudwatch.AlarmState.ALARM) for alarm in critical)
            ),
        )
        action = cdk.aws_cloudwatch_actions.SnsAction(topic)
        self.journey_unhealthy.add_alarm_action(action)
        self.journey_unhealthy.add_ok_action(action)

    def _threshold(
        self,
        alarm_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        comparison: cloudwatch.ComparisonOperator = ABOVE,
    ) -> cloudwatch.Alarm:
        alarm = ThresholdAlarm(
            self,
            alarm_id,
            metric=metric,
            description=description,
            topic=self._topic,
            threshold=threshold,
            comparison=comparison,
        )
        self.alarms[alarm_id] = alarm
        return alarm

    def _guardrail_spike(self, signals: JourneySignals, settings: ObservabilitySettings) -> None:
        """Interventions above the anomaly band CloudWatch learns from the guardrail's own history (two of three
        5-minute periods), rather than a fixed count that suits one traffic level only."""
        assert signals.guardrail is not None
        alarm = cloudwatch.AnomalyDetectionAlarm(
            self,
            "GuardrailInterventionSpike",
            alarm_description="Guardrail interventions rose above their expected band (anomaly detection, "
            f"{settings.guardrail_band_width:g} standard deviations): a change in traffic, a prompt-injection "
            "campaign or a new model behaviour.",
            metric=jm.guardrail_intervened(signals.guardrail),
            std_devs=settings.guardrail_band_width,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(self._topic, alarm)
        self.alarms["GuardrailInterventionSpike"] = alarm

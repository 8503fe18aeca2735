"""The journey's metrics, exactly as their publishers write them: one function per family, shared by the dashboard
and the alarms, so a graph and the alarm beside it can never read different series.

Names and dimensions, and where they come from:

- AWS/ApiGateway `Count`, `4XXError`, `5XXError`, `Latency` per ApiName; AWS/WAFV2 `BlockedRequests` per WebACL,
  Region and Rule=ALL; AWS/Bedrock `Invocations`, `InvocationLatency`, `InputTokenCount`, `OutputTokenCount`,
  `InvocationThrottles` per ModelId; AWS/Bedrock/Guardrails `InvocationsIntervened` per GuardrailArn and
  GuardrailVersion.
- The Api namespace (lambdas/api/app.py `measure`): `ChatLatency`, `ChatFirstEventLatency`, `InputTokens`,
  `OutputTokens`, `GuardrailInterventions` per service and architecture; `ChatBlocked` adds cause and stage,
  `ChatErrors` adds code; `RequestsThrottled` per service and code. Users (lambdas/api/store/telemetry.py):
  `thumbs_up`, `thumbs_down`, `copy`, `regenerate`, `session_seconds` per service.
- A dimension value only known at run time (a block's cause, a PII type, a tool, a task) is read with a SEARCH
  expression on the dashboard; alarms read fixed series only (CloudWatch alarms cannot use SEARCH).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from stacks.observability import quality_metrics as quality
from stacks.observability.signals import ApiSignals, GuardrailSignals, ModelSignals

FIVE_MINUTES = cdk.Duration.minutes(5)
ONE_DAY = cdk.Duration.days(1)


def metric(
    namespace: str,
    name: str,
    dimensions: Mapping[str, str],
    *,
    statistic: str = "Sum",
    period: cdk.Duration = FIVE_MINUTES,
    label: str | None = None,
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dict(dimensions),
        statistic=statistic,
        period=period,
        label=label,
    )


def search(
    namespace: str,
    dimensions: Sequence[str],
    name: str,
    *,
    statistic: str = "Sum",
    period: cdk.Duration = FIVE_MINUTES,
    filters: Mapping[str, str] | None = None,
    label: str = "",
) -> cloudwatch.SearchExpression:
    """Every series of ``name`` with exactly these dimension names (a SEARCH schema), optionally filtered."""
    schema = ",".join([f'"{namespace}"', *sorted(dimensions)])
    terms = " ".join(f'{key}="{value}"' for key, value in (filters or {}).items())
    query = f'{{{schema}}} MetricName="{name}" {terms}'.strip()
    return cloudwatch.SearchExpression(
        expression=f"SEARCH('{query}', '{statistic}', {int(period.to_seconds())})", label=label, period=period
    )


# ---------------------------------------------------------------------------------------------- API Gateway, WAF


def api_gateway(api: ApiSignals, name: str, *, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
    return metric("AWS/ApiGateway", name, {"ApiName": api.api_name}, statistic=statistic, label=label)


def waf_blocked(api: ApiSignals) -> cloudwatch.Metric:
    dimensions = {"WebACL": api.web_acl_name, "Region": cdk.Aws.REGION, "Rule": "ALL"}
    return metric("AWS/WAFV2", "BlockedRequests", dimensions, label="WAF blocked")


# ---------------------------------------------------------------------------------------------- the chat app


def app(
    api: ApiSignals, name: str, service: str, architecture: str, *, statistic: str = "Sum", label: str | None = None
) -> cloudwatch.Metric:
    return metric(
        api.namespace, name, {"service": service, "architecture": architecture}, statistic=statistic, label=label
    )


def chat_answers(api: ApiSignals, *, period: cdk.Duration = FIVE_MINUTES) -> cloudwatch.MathExpression:
    """Chat requests the pipeline ran: ChatLatency samples over both functions and every architecture (at most
    2 x 4 series, within an alarm's ten)."""
    using = {
        f"c{index}": app(api, "ChatLatency", service, architecture, statistic="SampleCount")
        for index, (service, architecture) in enumerate((s, a) for s in api.services for a in api.architectures)
    }
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({key}, 0)" for key in using),
        using_metrics=using,
        label="Chat answers",
        period=period,
    )


def user_signal(
    api: ApiSignals, name: str, *, statistic: str = "Sum", period: cdk.Duration = FIVE_MINUTES
) -> cloudwatch.Metric:
    """thumbs_up, thumbs_down, copy, regenerate, session_seconds: counted by the buffered function."""
    return metric(api.namespace, name, {"service": api.chat_service}, statistic=statistic, period=period)


def thumbs_down_ratio(api: ApiSignals, *, min_samples: int, period: cdk.Duration) -> cloudwatch.MathExpression:
    """thumbs_down / all ratings, 0 while fewer than ``min_samples`` ratings came in the period."""
    return cloudwatch.MathExpression(
        expression=f"IF((FILL(up, 0) + FILL(down, 0)) >= {min_samples}, "
        "FILL(down, 0) / (FILL(up, 0) + FILL(down, 0)), 0)",
        using_metrics={
            "up": user_signal(api, "thumbs_up", period=period),
            "down": user_signal(api, "thumbs_down", period=period),
        },
        label="Thumbs-down ratio",
        period=period,
    )


def per_answer_rate(
    api: ApiSignals, event: str, *, min_samples: int, period: cdk.Duration, label: str
) -> cloudwatch.MathExpression:
    """``event`` (regenerate, copy) per chat answer, 0 while fewer than ``min_samples`` answers came."""
    answers = chat_answers(api, period=period)
    key = f"e_{event}"  # distinct per event, so two rates can share one graph
    using = {**answers.using_metrics, key: user_signal(api, event, period=period)}
    total = f"({answers.expression})"
    return cloudwatch.MathExpression(
        expression=f"IF({total} >= {min_samples}, FILL({key}, 0) / {total}, 0)",
        using_metrics=using,
        label=label,
        period=period,
    )


# ---------------------------------------------------------------------------------------------- Bedrock


def bedrock(model: ModelSignals, name: str, *, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
    return metric("AWS/Bedrock", name, {"ModelId": model.model_id}, statistic=statistic, label=label)


def guardrail_intervened(guardrail: GuardrailSignals, *, period: cdk.Duration = FIVE_MINUTES) -> cloudwatch.Metric:
    return metric(
        "AWS/Bedrock/Guardrails",
        "InvocationsIntervened",
        {"GuardrailArn": guardrail.guardrail_arn, "GuardrailVersion": guardrail.guardrail_version},
        period=period,
        label="Guardrail interventions",
    )


def model_cost(model: ModelSignals, index: int, *, period: cdk.Duration = ONE_DAY) -> cloudwatch.MathExpression | None:
    """USD of a model's tokens in each period: tokens x the configured price per 1,000; None without a price.
    ``index`` keeps the expression's metric ids apart from another model's on the same graph."""
    if model.price is None:
        return None
    price = model.price
    tokens_in, tokens_out = f"tin{index}", f"tout{index}"
    return cloudwatch.MathExpression(
        expression=f"(FILL({tokens_in}, 0) * {price.input_per_1k:.10g} + FILL({tokens_out}, 0) * "
        f"{price.output_per_1k:.10g}) / 1000",
        using_metrics={
            tokens_in: metric("AWS/Bedrock", "InputTokenCount", {"ModelId": model.model_id}, period=period),
            tokens_out: metric("AWS/Bedrock", "OutputTokenCount", {"ModelId": model.model_id}, period=period),
        },
        label=f"{model.model_id} (USD)",
        period=period,
    )


# ---------------------------------------------------------------------------------------------- quality


def quality_metric(
    usecase_id: str,
    name: str,
    *,
    task: str = quality.OVERALL_TASK,
    statistic: str = "Minimum",
    label: str | None = None,
) -> cloudwatch.Metric:
    return metric(
        quality.NAMESPACE,
        name,
        {quality.USECASE_DIMENSION: usecase_id, quality.TASK_DIMENSION: task},
        statistic=statistic,
        period=ONE_DAY,
        label=label,
    )

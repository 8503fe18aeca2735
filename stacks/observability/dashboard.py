"""The journey dashboard: one CloudWatch dashboard per environment, a section per journey stage.

Sections, top to bottom: Data, Knowledge, Api, Bedrock (one row per model), Safety, Users, Quality, Cost. Each
starts with a text header; a stage that is switched off keeps its header and says so, so the dashboard reads
the same in every deployment. A figure no code publishes yet is named in the header as missing rather than drawn
as an empty graph (docs/observability.md lists them).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.observability import journey_metrics as jm
from stacks.observability import quality_metrics as quality
from stacks.observability.signals import (
    AgentSignals,
    ApiSignals,
    DataSignals,
    GuardrailSignals,
    JourneySignals,
    KnowledgeSignals,
    ModelSignals,
    QualitySignals,
)

SECTIONS = ("Data", "Knowledge", "Api", "Bedrock", "Safety", "Users", "Quality", "Cost")
WIDTH = 24
HEIGHT = 6


def header(section: str, text: str) -> cloudwatch.TextWidget:
    return cloudwatch.TextWidget(markdown=f"## {section}\n{text}", width=WIDTH, height=2)


def graph(
    title: str, left: Sequence[cloudwatch.IMetric], *, width: int = 8, **options: object
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(left), width=width, height=HEIGHT, **options)  # type: ignore[arg-type]


class JourneyDashboard(Construct):
    """Exposes `dashboard` and `sections` (the section names in order, as their headers start)."""

    def __init__(self, scope: Construct, construct_id: str, *, dashboard_name: str, signals: JourneySignals) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=cdk.Duration.hours(24)
        )
        self.sections: list[str] = []
        rows: list[tuple[str, list[cloudwatch.IWidget]]] = [
            ("Data", data_section(signals.data)),
            ("Knowledge", knowledge_section(signals.knowledge)),
            ("Api", api_section(signals.api)),
            ("Bedrock", bedrock_section(signals.models, signals.guardrail)),
            ("Safety", safety_section(signals.api, signals.agent)),
            ("Users", users_section(signals.api)),
            ("Quality", quality_section(signals.usecase_id, signals.quality)),
            ("Cost", cost_section(signals.models)),
        ]
        for section, widgets in rows:
            self.sections.append(section)
            self.dashboard.add_widgets(*widgets)


# ------------------------------------------------------------------------------------------------ sections


def data_section(data: DataSignals | None) -> list[cloudwatch.IWidget]:
    if data is None:
        return [header("Data", "The Data stack is off (features.data).")]
    service = {"service": data.finalize_service}

    def run(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return jm.metric(data.namespace, name, service, statistic=statistic, label=name)

    return [
        header("Data", "Each run of the data pipeline: records in and out, quarantine, PII found, bias gate, PSI."),
        graph(
            "Pipeline runs",
            [
                data.state_machine.metric_started(label="Started", statistic="Sum"),
                data.state_machine.metric_succeeded(label="Succeeded", statistic="Sum"),
                data.state_machine.metric_failed(label="Failed", statistic="Sum"),
            ],
            width=6,
        ),
        graph(
            "Records",
            [run("RecordsIn"), run("RecordsCurated"), run("RecordsQuarantined"), run("RecordsHeld")],
            width=6,
        ),
        graph(
            "Quarantine rate (%) and bias status (0 pass, 1 warn, 2 fail)",
            [run("QuarantineRate", "Maximum")],
            right=[run("BiasStatus", "Maximum")],
            width=6,
        ),
        graph(
            "PII found by type",
            [jm.search(data.namespace, ["EntityType", "service"], "PiiEntities", label="${PROP('Dim.EntityType')}")],
            width=6,
        ),
        graph(
            "PSI against the reference, per group",
            [
                jm.search(
                    data.namespace,
                    ["Group", "service"],
                    "PopulationStabilityIndex",
                    statistic="Maximum",
                    label="${PROP('Dim.Group')}",
                )
            ],
            width=WIDTH,
        ),
    ]


def knowledge_section(knowledge: KnowledgeSignals | None) -> list[cloudwatch.IWidget]:
    if knowledge is None:
        return [header("Knowledge", "The Knowledge stack is off (features.knowledge).")]
    kb = {"KnowledgeBaseId": knowledge.knowledge_base_id}

    def sync(name: str) -> cloudwatch.Metric:
        return jm.metric(knowledge.namespace, name, kb, label=name)

    return [
        header("Knowledge", "Ingestion jobs of the knowledge base: documents, jobs and how long each job ran."),
        graph("Documents", [sync("DocumentsScanned"), sync("DocumentsIndexed"), sync("DocumentsFailed")], width=8),
        graph(
            "Ingestion jobs",
            [sync("IngestionJobsStarted"), sync("IngestionJobsSucceeded"), sync("IngestionJobsFailed")],
            width=8,
        ),
        graph(
            "Ingestion duration (s)",
            [jm.metric(knowledge.namespace, "IngestionJobSeconds", kb, statistic="Maximum", label="longest job")],
            width=8,
        ),
    ]


def api_section(api: ApiSignals | None) -> list[cloudwatch.IWidget]:
    if api is None:
        return [header("Api", "The Api stack is off (features.api).")]
    first_event = [
        jm.app(
            api,
            "ChatFirstEventLatency",
            api.stream_service,
            architecture,
            statistic=stat,
            label=f"{architecture} {stat}",
        )
        for architecture in api.architectures
        for stat in ("p50", "p90")
    ]
    return [
        header("Api", "Requests through API Gateway, the WAF in front of it and the chat functions behind it."),
        graph(
            "Requests and errors",
            [
                jm.api_gateway(api, "Count", label="Requests"),
                jm.api_gateway(api, "4XXError", label="4xx"),
                jm.api_gateway(api, "5XXError", label="5xx"),
            ],
            width=6,
        ),
        graph(
            "Latency (ms)",
            [jm.api_gateway(api, "Latency", statistic=p, label=p) for p in ("p50", "p90", "p99")],
            width=6,
        ),
        graph("Time to first token, streamed (ms)", first_event, width=6),
        graph(
            "WAF blocks and throttled requests",
            [
                jm.waf_blocked(api),
                jm.search(api.namespace, ["code", "service"], "RequestsThrottled", label="${PROP('Dim.code')}"),
            ],
            width=6,
        ),
    ]


def bedrock_section(models: Sequence[ModelSignals], guardrail: GuardrailSignals | None) -> list[cloudwatch.IWidget]:
    widgets: list[cloudwatch.IWidget] = [
        header("Bedrock", "Per model the journey calls: invocations, latency, tokens and throttles; the guardrail.")
    ]
    for model in models:
        title = f"{model.role}: {model.model_id}"
        widgets += [
            graph(
                f"{title}: invocations and throttles",
                [
                    jm.bedrock(model, "Invocations", label="Invocations"),
                    jm.bedrock(model, "InvocationThrottles", label="Throttles"),
                ],
                width=8,
            ),
            graph(
                f"{title}: latency (ms)",
                [jm.bedrock(model, "InvocationLatency", statistic=p, label=p) for p in ("p50", "p90")],
                width=8,
            ),
            graph(
                f"{title}: tokens",
                [
                    jm.bedrock(model, "InputTokenCount", label="Input tokens"),
                    jm.bedrock(model, "OutputTokenCount", label="Output tokens"),
                ],
                width=8,
            ),
        ]
    if guardrail is not None:
        widgets += [
            graph("Guardrail interventions", [jm.guardrail_intervened(guardrail)], width=12),
            graph(
                "Guardrail interventions by policy (account)",
                [
                    cloudwatch.SearchExpression(
                        expression='SEARCH(\'"AWS/Bedrock/Guardrails" MetricName="InvocationsIntervened" '
                        "GuardrailPolicyType', 'Sum', 300)",
                        label="${PROP('Dim.GuardrailPolicyType')}",
                    )
                ],
                width=12,
            ),
        ]
    return widgets


def safety_section(api: ApiSignals | None, agent: AgentSignals | None) -> list[cloudwatch.IWidget]:
    widgets: list[cloudwatch.IWidget] = [
        header(
            "Safety",
            "Blocks by cause (validation, injection, toxicity, pii, guardrail, ...), flagged RAG passages and flagged "
            "tool results.",
        )
    ]
    if api is not None:
        widgets += [
            graph(
                "Blocked answers by cause",
                [
                    jm.search(
                        api.namespace,
                        ["architecture", "cause", "service", "stage"],
                        "ChatBlocked",
                        label="${PROP('Dim.cause')} (${PROP('Dim.stage')})",
                    )
                ],
                width=8,
            ),
            graph(
                "Flagged RAG passages",
                [jm.search(api.namespace, ["cause", "service"], "PassageFlagged", label="${PROP('Dim.cause')}")],
                width=8,
            ),
            graph(
                "Safety check errors",
                [
                    jm.search(
                        api.namespace, ["cause", "service", "stage"], "SafetyCheckErrors", label="${PROP('Dim.cause')}"
                    )
                ],
                width=8 if agent is None else 4,
            ),
        ]
    if agent is not None:
        widgets.append(
            graph(
                "Flagged tool results (withheld)",
                [jm.search(agent.namespace, ["service", "tool"], "ToolResultWithheld", label="${PROP('Dim.tool')}")],
                width=4 if api is not None else 24,
            )
        )
    return widgets


def users_section(api: ApiSignals | None) -> list[cloudwatch.IWidget]:
    if api is None:
        return [header("Users", "The Api stack is off (features.api): no user signals.")]
    hour = cdk.Duration.hours(1)
    up_ratio = cloudwatch.MathExpression(
        expression="FILL(up, 0) / (FILL(up, 0) + FILL(down, 0))",
        using_metrics={
            "up": jm.user_signal(api, "thumbs_up", period=hour),
            "down": jm.user_signal(api, "thumbs_down", period=hour),
        },
        label="Thumbs-up ratio",
        period=hour,
    )
    return [
        header("Users", "What people do with the answers: ratings, copies, regenerations, time spent."),
        graph("Thumbs-up ratio", [up_ratio], width=6, left_y_axis=cloudwatch.YAxisProps(min=0, max=1)),
        graph(
            "Copy and regenerate rate (per answer)",
            [
                jm.per_answer_rate(api, "copy", min_samples=1, period=hour, label="Copy rate"),
                jm.per_answer_rate(api, "regenerate", min_samples=1, period=hour, label="Regenerate rate"),
            ],
            width=6,
        ),
        graph(
            "Session duration (s)",
            [jm.user_signal(api, "session_seconds", statistic=p, period=hour) for p in ("p50", "p90")],
            width=6,
        ),
        graph(
            "Feedback",
            [jm.user_signal(api, name, period=hour) for name in ("thumbs_up", "thumbs_down", "copy", "regenerate")],
            width=6,
        ),
    ]


def quality_section(usecase_id: str, evaluation: QualitySignals | None) -> list[cloudwatch.IWidget]:
    if evaluation is None:
        return [
            header(
                "Quality",
                "No scheduled evaluation in this deployment: it needs the Api stack (features.api), usecase.yaml "
                "`evaluation` and a golden set, usecases/<id>/golden/<task>.jsonl (docs/observability-evaluation.md).",
            )
        ]

    def per_task(name: str, label: str) -> cloudwatch.SearchExpression:
        return jm.search(
            quality.NAMESPACE,
            quality.DIMENSIONS,
            name,
            statistic="Average",
            period=jm.ONE_DAY,
            filters={quality.USECASE_DIMENSION: usecase_id},
            label=f"{label} ${{PROP('Dim.{quality.TASK_DIMENSION}')}}",
        )

    machine = evaluation.state_machine
    tasks = ", ".join(evaluation.tasks) or "the golden set's"
    return [
        header(
            "Quality",
            f"The scheduled evaluation on the golden set (tasks: {tasks}); perplexity only where the model returns "
            "token log-probabilities. Verdict: 1 passed the gate, 0 failed (the run's report.md says why).",
        ),
        cloudwatch.SingleValueWidget(
            title="Last evaluation: gate passed",
            metrics=[jm.quality_metric(usecase_id, quality.GATE_PASSED, statistic="Minimum", label="Gate passed")],
            width=4,
            height=HEIGHT,
        ),
        graph(
            "Evaluation runs",
            [
                machine.metric_started(label="Started", statistic="Sum", period=jm.ONE_DAY),
                machine.metric_succeeded(label="Accepted", statistic="Sum", period=jm.ONE_DAY),
                machine.metric_failed(label="Failed", statistic="Sum", period=jm.ONE_DAY),
            ],
            width=6,
        ),
        graph(
            "BLEU (0-100), ROUGE-L, F1",
            [per_task(quality.BLEU, "BLEU")],
            right=[per_task(quality.ROUGEL, "ROUGE-L"), per_task(quality.F1, "F1")],
            width=8,
        ),
        graph("WER", [per_task(quality.WER, "WER")], width=6),
        graph(
            "ROUGE-1, ROUGE-2, exact match",
            [
                per_task(quality.ROUGE1, "ROUGE-1"),
                per_task(quality.ROUGE2, "ROUGE-2"),
                per_task(quality.EXACT_MATCH, "Exact match"),
            ],
            width=12,
        ),
        graph("Perplexity", [per_task(quality.PERPLEXITY, "Perplexity")], width=12),
    ]


def cost_section(models: Sequence[ModelSignals]) -> list[cloudwatch.IWidget]:
    priced = [(model, jm.model_cost(model, index)) for index, model in enumerate(models)]
    unpriced = [model.model_id for model, cost in priced if cost is None]
    note = (
        f" No price is configured for {', '.join(unpriced)} (observability.yaml `prices`): not counted."
        if unpriced
        else ""
    )
    widgets: list[cloudwatch.IWidget] = [
        header(
            "Cost", f"Tokens x the configured on-demand price per model, USD per day (an estimate, not a bill).{note}"
        )
    ]
    costs = [cost for _, cost in priced if cost is not None]
    if costs:
        widgets.append(graph("Model cost per day (USD)", costs, width=WIDTH, stacked=True, period=jm.ONE_DAY))
    return widgets

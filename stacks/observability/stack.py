"""Observability stack: the journey seen whole, in one place per environment.

- `JourneyDashboard` (dashboard.py): one CloudWatch dashboard, a section per journey stage, built from the metrics
  the other stacks and their functions publish (signals.py names them; journey_metrics.py reads them).
- `JourneyAlarms` (alarms.py): the journey's alarms and the composite "journey unhealthy", all to the alarm topic,
  plus an errors alarm for every Lambda function of the stage that its own stack does not alarm on.
- `Investigations` (queries.py): Logs Insights query definitions over the chat functions' structured logs.
- `InvocationLogging` (invocation_logging.py), only with `invocation_logging`: Bedrock model invocation logging,
  an account and region singleton, recorded at create and restored on delete.
- `QualityEvaluation` (evaluation.py), only with ``evaluation`` props: the scheduled evaluation of the golden set
  through the serving pipeline and its gate; the Quality section reads its metrics, its failed-executions alarm
  joins the composite. stacks/stage.py passes it when the Api stack is on and the use case has an `evaluation`
  section and a golden set.

Nothing here bills idle but the dashboard (beyond the free three per account), the alarms and, with invocation
logging, the stored logs; the evaluation bills its daily run (Lambda, Step Functions, the model calls).
Everything it watches arrives in `ObservabilityProps`, so it deploys against a team's own resources as well as
the kit's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.stage_policy import StagePolicy
from stacks.observability.alarms import JourneyAlarms, alarm_function_errors
from stacks.observability.dashboard import JourneyDashboard
from stacks.observability.evaluation import QualityEvaluation, QualityEvaluationProps
from stacks.observability.invocation_logging import InvocationLogging
from stacks.observability.queries import Investigations
from stacks.observability.settings import ObservabilitySettings
from stacks.observability.signals import JourneySignals, QualitySignals

METRICS_NAMESPACE = "JourneyKit/Observability"


@dataclass(frozen=True)
class ObservabilityProps:
    name_prefix: str  # "<prefix>-<stage>"
    stage: StagePolicy
    key: kms.IKey  # encrypts the invocation log group, bucket and the provider's environment
    alarm_topic: sns.ITopic
    access_logs: s3.IBucket  # server access logs of the invocation-log bucket
    signals: JourneySignals
    settings: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    # Stacks whose Lambda functions get an errors alarm here when their own stack has none.
    watched_stacks: Sequence[cdk.Stack] = ()
    invocation_logging: bool = False
    # The scheduled quality evaluation, built in this stack (None: none; the Quality section says so).
    evaluation: QualityEvaluationProps | None = None


class ObservabilityStack(cdk.Stack):
    """Exposes `dashboard` (`JourneyDashboard`), `alarms` (`JourneyAlarms`), `function_alarms` (the errors alarms
    added here), `investigations`, `invocation_logging` (`InvocationLogging` or None) and `evaluation`
    (`QualityEvaluation` or None).
    Outputs: DashboardName, JourneyUnhealthyAlarmName (when something critical is watched),
    QualityEvaluationStateMachineArn (with the evaluation)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ObservabilityProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        self.invocation_logging = (
            InvocationLogging(
                self,
                "InvocationLogging",
                name_prefix=props.name_prefix,
                stage=props.stage,
                key=props.key,
                access_logs=props.access_logs,
                namespace=METRICS_NAMESPACE,
            )
            if props.invocation_logging
            else None
        )
        self.evaluation = (
            QualityEvaluation(self, "QualityEvaluation", props=props.evaluation)
            if props.evaluation is not None
            else None
        )
        signals = props.signals
        if self.evaluation is not None:  # what the dashboard and the composite read of it
            signals = replace(
                signals,
                quality=QualitySignals(
                    state_machine=self.evaluation.state_machine,
                    tasks=tuple(self.evaluation.golden),
                    failed_alarm=self.evaluation.failed_alarm,
                ),
            )
        self.dashboard = JourneyDashboard(
            self, "Journey", dashboard_name=f"{props.name_prefix}-journey", signals=signals
        )
        self.alarms = JourneyAlarms(
            self,
            "Alarms",
            name_prefix=props.name_prefix,
            signals=signals,
            settings=props.settings,
            topic=props.alarm_topic,
        )
        api = props.signals.api
        self.investigations = Investigations(
            self,
            "Investigations",
            name_prefix=props.name_prefix,
            chat_log_groups=list(api.log_groups) if api is not None else [],
            invocation_log_group=self.invocation_logging.log_group if self.invocation_logging is not None else None,
        )
        self.function_alarms = alarm_function_errors(self, props.watched_stacks, props.alarm_topic)
        self.alarm_own_functions()
        cdk.CfnOutput(
            self,
            "DashboardName",
            value=self.dashboard.dashboard.dashboard_name,
            description="The journey dashboard (CloudWatch console, Dashboards)",
        )
        if self.alarms.journey_unhealthy is not None:
            cdk.CfnOutput(
                self,
                "JourneyUnhealthyAlarmName",
                value=self.alarms.journey_unhealthy.alarm_name,
                description="Composite alarm over the journey's critical alarms",
            )
        if self.evaluation is not None:
            cdk.CfnOutput(
                self,
                "QualityEvaluationStateMachineArn",
                value=self.evaluation.state_machine.state_machine_arn,
                description="Start an on-demand quality evaluation (docs/observability-evaluation.md)",
            )

    def alarm_own_functions(self) -> None:
        """Errors alarms for this stack's own functions that have none yet (the invocation-logging provider, CDK's
        bucket cleanup, and any a construct added after the constructor brings): the stage calls it again once
        every stack exists; a function alarmed already is skipped, so calling it twice adds nothing."""
        self.function_alarms += alarm_function_errors(self, [self], self._props.alarm_topic)

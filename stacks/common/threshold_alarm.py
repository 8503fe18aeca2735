"""`ThresholdAlarm`: the kit's one alarm shape, a metric crossing a threshold in one period, sent to the alarm topic."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.alarm_topic import notify


class ThresholdAlarm(cloudwatch.Alarm):
    """Alarms when one period of ``metric`` reaches ``threshold`` (or exceeds it, with ``comparison``).

    No data is not breaching: the kit's metrics are counts and per-run figures that are absent while nothing
    happens. ALARM and OK transitions both go to ``topic``, so on-call sees recovery too. It *is* the
    `cloudwatch.Alarm`, so its logical id is the id's, as for a plain alarm.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        description: str,
        topic: sns.ITopic,
        threshold: float = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(topic, self)

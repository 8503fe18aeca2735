"""Investigations as code: CloudWatch Logs Insights query definitions, saved in the console under the stage's prefix.

The chat functions write one Powertools JSON line per request, message "chat" (lambdas/api/app.py), with
`request_id` (the x-request-id the caller sees), `user_id` (the Cognito sub), `architecture`, `session_id`,
`outcome` (answered, blocked or an error code), `causes` (a block's causes, comma-separated), `latency_ms` and
`first_event_ms`; the safety chain writes "safety decision" lines with `safety.stage` and `safety.latency_ms`
(lambdas/common/safety/chain.py). Bedrock invocation logs (schema 1.0) carry `modelId`, `requestId`,
`identity.arn`, `input.inputTokenCount` and `output.outputTokenCount`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_logs as logs
from constructs import Construct

CHAT_MESSAGE = "chat"
SAFETY_MESSAGE = "safety decision"
# The fields of the "chat" line the queries read (a test holds the app to them).
CHAT_LINE_FIELDS = (
    "message",
    "request_id",
    "user_id",
    "architecture",
    "session_id",
    "outcome",
    "causes",
    "latency_ms",
    "first_event_ms",
)
USER_PLACEHOLDER = "REPLACE-WITH-USER-SUB"
LAST_REQUESTS = 20


@dataclass(frozen=True)
class Investigation:
    slug: str  # the last part of the saved query's name
    query: logs.QueryString
    invocation_logs: bool = False  # reads the Bedrock invocation log group instead of the chat functions'


INVESTIGATIONS = (
    Investigation(
        "blocked-requests-by-user-and-cause",
        logs.QueryString(
            filter_statements=[f'message = "{CHAT_MESSAGE}"', 'outcome = "blocked"'],
            stats_statements=["count(*) as blocked, latest(request_id) as last_request by user_id, causes"],
            sort="blocked desc",
            limit=100,
        ),
    ),
    Investigation(
        "user-last-requests",
        logs.QueryString(
            fields=[
                "@timestamp",
                "request_id",
                "session_id",
                "architecture",
                "outcome",
                "causes",
                "latency_ms",
                "first_event_ms",
                "xray_trace_id",
            ],
            filter_statements=[f'message = "{CHAT_MESSAGE}"', f'user_id = "{USER_PLACEHOLDER}"'],
            sort="@timestamp desc",
            limit=LAST_REQUESTS,
        ),
    ),
    Investigation(
        "slowest-requests-with-stage-timings",
        logs.QueryString(
            filter_statements=[f'message in ["{CHAT_MESSAGE}", "{SAFETY_MESSAGE}"]', "ispresent(request_id)"],
            stats_statements=[
                "max(latency_ms) as total_ms, max(first_event_ms) as first_event_ms, "
                "sum(safety.latency_ms) as safety_ms, count(safety.stage) as safety_checks, "
                "latest(user_id) as user, latest(architecture) as architecture, latest(outcome) as outcome "
                "by request_id"
            ],
            sort="total_ms desc",
            limit=25,
        ),
    ),
    Investigation(
        "invocation-log-token-outliers",
        logs.QueryString(
            fields=[
                "@timestamp",
                "modelId",
                "requestId",
                "identity.arn",
                "input.inputTokenCount",
                "output.outputTokenCount",
                "input.inputTokenCount + output.outputTokenCount as total_tokens",
            ],
            filter_statements=["ispresent(input.inputTokenCount)"],
            sort="total_tokens desc",
            limit=25,
        ),
        invocation_logs=True,
    ),
)


class Investigations(Construct):
    """One AWS::Logs::QueryDefinition per investigation; exposes `definitions` (slug -> QueryDefinition)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        chat_log_groups: Sequence[logs.ILogGroup],
        invocation_log_group: logs.ILogGroup | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.definitions: dict[str, logs.QueryDefinition] = {}
        for investigation in INVESTIGATIONS:
            groups = (
                ([invocation_log_group] if invocation_log_group is not None else [])
                if investigation.invocation_logs
                else list(chat_log_groups)
            )
            self.definitions[investigation.slug] = logs.QueryDefinition(
                self,
                investigation.slug.title().replace("-", ""),
                query_definition_name=f"{name_prefix}/{investigation.slug}",
                query_string=investigation.query,
                log_groups=groups or None,
            )

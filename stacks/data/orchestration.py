"""The Data stack's workflow: the Step Functions state machine of a run and the rule that starts it.

start -> Distributed Map (validate -> redact -> profile per object) -> assess -> bias gate -> Distributed Map
(publish per object) -> finalize -> `DatasetPublished` on EventBridge. An object stored larger than
`limits.row_fanout_bytes` goes to split first (RouteBySize): a CSV or JSONL object is streamed and cut into
parts, each validated and redacted on a nested Distributed Map (ProcessParts), then assembled for the same
profile step (split -> part per part -> assemble -> profile; lambdas/pipeline/rows.py); anything else split
hands back to validate. Every Lambda task retries throttling with exponential backoff and full jitter;
inside the maps any other failure routes the object to quarantine. The Lambda steps and the state machine
follow the kit's conventions (stacks/common/state_machine.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from stacks.common.dead_letter_queue import KitDeadLetterQueue
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import allow_service_use
from stacks.common.nag import acknowledge, acknowledge_all, acknowledge_role_policy, each_pack, iam5_resource_finding
from stacks.common.object_map import ObjectMap
from stacks.common.state_machine import Retry, acknowledge_lambda_steps, kit_state_machine, lambda_step
from stacks.data.stores import MAP_RESULTS, DataStores

if TYPE_CHECKING:
    from stacks.data.stack import DataProps

READY_PATTERN = "datasets/*/_READY"


class PipelineWorkflow:
    """Builds, in ``stack``, the state machine (`state_machine`) that announces each published dataset on
    ``event_bus`` as ``event_source`` / ``event_detail_type``, and the rule that starts it from a dataset's
    `_READY` marker, with its dead-letter queue (`trigger_dead_letters`)."""

    def __init__(
        self,
        stack: cdk.Stack,
        props: DataProps,
        stores: DataStores,
        functions: dict[str, KitFunction],
        *,
        event_bus: events.IEventBus,
        event_source: str,
        event_detail_type: str,
    ) -> None:
        self._stack = stack
        self._props = props
        self._stores = stores
        self._functions = functions
        self._maps: list[ObjectMap] = []
        self.state_machine = self._state_machine(event_bus, event_source, event_detail_type)
        self.trigger_dead_letters = self._trigger()

    def _invoke(
        self, state_id: str, step: str, payload: dict[str, object] | None = None, result_path: str | None = None
    ) -> tasks.LambdaInvoke:
        """A step of ``step``'s function, retried on Lambda's errors and `Throttled` (the default `Retry`)."""
        return lambda_step(
            self._stack, state_id, self._functions[step].function, payload=payload, result_path=result_path
        )

    def _distributed_map(
        self, state_id: str, prefix_path: str, item_selector: dict[str, object], processor: sfn.IChainable
    ) -> ObjectMap:
        objects = ObjectMap(
            self._stack,
            state_id,
            items=self._stores.raw,
            prefix_path=prefix_path,
            results=self._stores.reports,
            results_prefix=MAP_RESULTS,
            item_selector=item_selector,
            max_concurrency=self._props.settings.map_concurrency,
        )
        objects.item_processor(processor)
        self._maps.append(objects)
        return objects

    def _row_fanout(self) -> tuple[tasks.LambdaInvoke, ObjectMap, tasks.LambdaInvoke]:
        """split, ProcessParts (a Distributed Map over the object's parts: one `part` each), assemble.

        The items are the part objects split wrote (ListObjectsV2 of their prefix), so the state carries keys
        and counts only: record content never enters the execution history, and the state machine reads no
        object. The parts map runs at most `map_concurrency` parts of one object at a time.
        """
        split = self._invoke("Split", "split")
        parts = self._distributed_map(
            "ProcessParts",
            "$.parts_prefix",
            {
                "part": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "key": sfn.JsonPath.string_at("$.key"),
                "run": sfn.JsonPath.object_at("$.run"),
                "source": sfn.JsonPath.string_at("$.source"),
                "encoding": sfn.JsonPath.string_at("$.encoding"),
            },
            self._invoke("Part", "part"),
        )
        assemble = self._invoke("Assemble", "assemble")
        return split, parts, assemble

    def _state_machine(
        self, event_bus: events.IEventBus, event_source: str, event_detail_type: str
    ) -> sfn.StateMachine:
        stack, props = self._stack, self._props
        start = self._invoke(
            "Start",
            "start",
            payload={"event": sfn.JsonPath.object_at("$"), "execution": sfn.JsonPath.string_at("$$.Execution.Name")},
        )
        # Phase 1: every object of the dataset through validate -> redact -> profile.
        quarantine_processing = self._invoke(
            "QuarantineFailedObject", "quarantine", payload={"phase": "process", "failed": sfn.JsonPath.object_at("$")}
        )
        validate = self._invoke("Validate", "validate")
        redact = self._invoke("Redact", "redact")
        profile = self._invoke("Profile", "profile")
        split, parts, assemble = self._row_fanout()
        for task in (validate, redact, profile, split, parts, assemble):
            task.add_catch(quarantine_processing, errors=[sfn.Errors.ALL], result_path="$.error")
        whole = validate.next(redact).next(profile)
        # split answers where the object goes: its parts, quarantine (rejected whole, with its reason and
        # rows counted), or validate (not a CSV or JSONL object of its source).
        split_route = (
            sfn.Choice(stack, "SplitOutcome")
            .when(sfn.Condition.string_equals("$.route", "parts"), parts.next(assemble).next(profile))
            .when(sfn.Condition.string_equals("$.route", "rejected"), quarantine_processing)
            .otherwise(validate)
        )
        route = (
            sfn.Choice(stack, "RouteBySize")
            .when(
                sfn.Condition.number_greater_than("$.size", props.settings.limits.row_fanout_bytes),
                split.next(split_route),
            )
            .otherwise(whole)
        )
        process = self._distributed_map(
            "ProcessObjects",
            "$.run.prefix",
            {
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "size": sfn.JsonPath.number_at("$$.Map.Item.Value.Size"),
                "run": sfn.JsonPath.object_at("$.run"),
            },
            route,
        )
        assess = self._invoke(
            "Assess", "assess", payload={"run": sfn.JsonPath.object_at("$.run")}, result_path="$.assessment"
        )
        # Phase 2: publish every redacted object, unless the bias gate failed.
        publish = self._invoke("Publish", "publish")
        publish.add_catch(
            self._invoke(
                "QuarantineUnpublishedObject",
                "quarantine",
                payload={"phase": "publish", "failed": sfn.JsonPath.object_at("$")},
            ),
            errors=[sfn.Errors.ALL],
            result_path="$.error",
        )
        publish_all = self._distributed_map(
            "PublishObjects",
            "$.run.redacted_prefix",
            {
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "run": sfn.JsonPath.object_at("$.run"),
                "bias_status": sfn.JsonPath.string_at("$.assessment.status"),
            },
            publish,
        )

        def finalize(state_id: str, published: bool) -> tasks.LambdaInvoke:
            return self._invoke(
                state_id,
                "finalize",
                payload={
                    "run": sfn.JsonPath.object_at("$.run"),
                    "assessment": sfn.JsonPath.object_at("$.assessment"),
                    "published": published,
                },
                result_path="$.final",
            )

        announce = tasks.EventBridgePutEvents(
            stack,
            "AnnounceDatasetPublished",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    event_bus=event_bus,
                    source=event_source,
                    detail_type=event_detail_type,
                    detail=sfn.TaskInput.from_json_path_at("$.final.summary"),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        Retry(errors=("EventBridge.FailedEntry", "EventBridge.EventBridgeException"), max_attempts=5).add_to(announce)
        gate = (
            sfn.Choice(stack, "BiasGate")
            .when(
                sfn.Condition.string_equals("$.assessment.status", "FAIL"),
                finalize("FinalizeHeldBack", published=False).next(
                    sfn.Fail(
                        stack,
                        "BiasGateFailed",
                        error="BiasGateFailed",
                        cause="Bias profile FAIL: nothing published; see the run report",
                    )
                ),
            )
            .otherwise(
                publish_all.next(finalize("FinalizePublished", published=True))
                .next(announce)
                .next(sfn.Succeed(stack, "Published"))
            )
        )
        machine = kit_state_machine(
            stack,
            "Pipeline",
            name=f"{props.name_prefix}-data-pipeline",
            definition=start.next(process).next(assess).next(gate),
            key=props.key,
            stage=props.stage,
            timeout=cdk.Duration.hours(24),
            log_id="PipelineLogs",
        )
        for objects in self._maps:
            objects.grant_results(machine.role)
        self._acknowledge_state_machine_policies(machine)
        return machine

    def _acknowledge_state_machine_policies(self, machine: sfn.StateMachine) -> None:
        """The findings CDK's Step Functions integrations raise by construction, each with its evidence."""
        stack = self._stack
        acknowledge_lambda_steps(machine, self._functions.values())
        distributed = machine.node.find_child("DistributedMapPolicy").node.default_child
        assert distributed is not None
        acknowledge_role_policy(distributed)
        # Built the way CDK builds the DistributedMapPolicy resources (Stack.format_arn), so the finding id
        # holds for environment-agnostic and pinned stacks alike (a pinned region renders as a literal).
        name = cdk.Fn.select(6, cdk.Fn.split(":", machine.state_machine_arn))
        executions = stack.format_arn(
            service="states", resource="execution", resource_name=name, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        for resource in (f"{executions}:*", f"{executions}/*:*"):
            acknowledge(
                distributed,
                iam5_resource_finding(stack, resource),
                "Distributed Map describes, stops and redrives the child executions of this state machine only; "
                "their names are generated per map run.",
            )

    def _trigger(self) -> sqs.Queue:
        stack, props = self._stack, self._props
        rule_name = f"{props.name_prefix}-data-ready"
        dead_letters = KitDeadLetterQueue(
            stack, "TriggerDeadLetters", key=props.key, dead_letters_of="the dataset-ready rule"
        )
        rule = events.Rule(
            stack,
            "DatasetReady",
            rule_name=rule_name,
            description="A dataset's _READY marker in the raw bucket starts one pipeline run",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self._stores.raw.bucket_name]},
                    "object": {"key": [{"wildcard": READY_PATTERN}]},
                },
            ),
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                dead_letter_queue=dead_letters,
                retry_attempts=20,
                max_event_age=cdk.Duration.hours(24),
            )
        )
        # EventBridge sends undeliverable events to the CMK-encrypted queue: it may use the key for this rule.
        allow_service_use(
            rule,
            props.key,
            f"EventBridgeDeadLettersOf{cdk.Names.unique_id(rule)}"[:128],
            "events.amazonaws.com",
            source_arn=cdk.Stack.of(rule).format_arn(
                service="events", resource="rule", resource_name=rule_name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
            ),
        )
        events_policy = self.state_machine.node.find_child("EventsRole").node.find_child("DefaultPolicy")
        acknowledge_all(
            events_policy.node.default_child,  # type: ignore[arg-type]
            each_pack("IAMNoInlinePolicy"),
            "EventBridge's role for this rule holds one statement (states:StartExecution on this state machine) "
            "and is created and deleted with it; a managed copy would be attachable elsewhere.",
        )
        return dead_letters

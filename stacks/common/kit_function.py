"""`KitFunction`: the one way the kit defines a Lambda function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Unpack

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.common.dead_letter_queue import KitDeadLetterQueue
from stacks.common.dependency_layer import dependency_layer
from stacks.common.metrics import MetricProps
from stacks.common.nag import acknowledge_each, acknowledge_role_policy, each_pack
from stacks.common.powertools import powertools_layer
from stacks.common.stage_policy import StagePolicy

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
# One asset for every function: the handler string picks the module.
_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache"]


class KitFunction(Construct):
    """Python 3.13 on arm64 with the Powertools layer, X-Ray, its own encrypted log group and role.

    The role starts with only what the function needs to log and trace; stacks add the rest with
    the `grant_*` methods of the resources it touches. ``layers`` are added to Powertools' and the dependency
    layer (a stack's `SettingsLayer`, for one: settings too large for the 4 KB environment); CDK orders them by
    construct path, which puts Powertools' first (`stacks.common.powertools.CONSTRUCT_ID`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        service: str,
        namespace: str,
        key: kms.IKey,
        stage: StagePolicy,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 512,
        timeout: cdk.Duration | None = None,
        reserved_concurrency: int | None = None,
        dead_letter_queue: bool = False,
        layers: Sequence[lambda_.ILayerVersion] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=stage.log_retention,
            encryption_key=key,
            removal_policy=stage.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (least privilege)",
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resource_arns=[self.log_group.log_group_arn],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=_ASSET_EXCLUDES),
            description=description,
            layers=[powertools_layer(self, stage.powertools), dependency_layer(self), *layers],
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            memory_size=memory_size,
            timeout=timeout or cdk.Duration.seconds(30),
            reserved_concurrent_executions=reserved_concurrency,
            environment_encryption=key,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": namespace,
                "POWERTOOLS_LOG_LEVEL": "INFO" if stage.is_prod else "DEBUG",
                **(environment or {}),
            },
        )
        self._grant_environment_decrypt(key.key_arn)
        # lambda.Function orders itself after its role (DependsOn) although Role: GetAtt already does;
        # cfn-lint W3005 flags the redundancy. The DependsOn also carries the role's policy, which must
        # stay, so the warning is ignored on this one resource instead of rewriting CDK's dependencies.
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, lambda_.CfnFunction)
        function_resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self.dead_letter_queue = self._add_dead_letter_queue(key) if dead_letter_queue else None
        self._acknowledge(reserved_concurrency is not None)

    def _grant_environment_decrypt(self, key_arn: str) -> None:
        """kms:Decrypt of the environment, which Lambda decrypts with the role at cold start (CKV_AWS_173).

        CDK adds no grant for ``environment_encryption``. The encryption context Lambda uses names the
        function; its own ARN would be a circular reference (the function depends on this policy), so the
        condition names the account's functions in this region: the role cannot decrypt other data.
        """
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["kms:Decrypt"],
            resource_arns=[key_arn],
            conditions={
                "StringLike": {
                    "kms:EncryptionContext:aws:lambda:FunctionArn": cdk.Stack.of(self).format_arn(
                        service="lambda",
                        resource="function",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )

    def _add_dead_letter_queue(self, key: kms.IKey) -> KitDeadLetterQueue:
        """A CMK-encrypted DLQ wired by hand: CDK's wiring would grant `kms:GenerateDataKey*`."""
        queue = KitDeadLetterQueue(self, "DeadLetters", key=key, dead_letters_of="the function")
        resource = self.function.node.default_child
        assert isinstance(resource, lambda_.CfnFunction)
        resource.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(target_arn=queue.queue_arn)
        queue.grant_send(self.role)
        return queue

    def _acknowledge(self, has_reserved_concurrency: bool) -> None:
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_role_policy(policy)
        resource = self.function.node.default_child
        assert resource is not None
        reasons = dict.fromkeys(
            ["AwsSolutions::AwsSolutions-L1", "Serverless::Serverless-LambdaLatestVersion"],
            "The kit pins Python 3.13 for every function so runtime, Powertools layer build (python3.13) "
            "and the tested interpreter match; moving to a newer runtime is a reviewed change.",
        )
        reasons |= dict.fromkeys(
            each_pack("LambdaInsideVPC"),
            "The function calls only AWS APIs over TLS with IAM auth and needs no private network; "
            "a VPC would add NAT or interface-endpoint cost to an otherwise idle-free deployment.",
        )
        if not has_reserved_concurrency:
            reasons |= dict.fromkeys(
                each_pack("LambdaConcurrency"),
                "Concurrency is capped by its trigger (Step Functions map concurrency, the SQS event source's "
                "maximum concurrency or API throttling); a reservation fails deploys in 10-execution accounts.",
            )
        if self.dead_letter_queue is None:
            reasons |= dict.fromkeys(
                [*each_pack("LambdaDLQ"), "Serverless::Serverless-LambdaDLQ"],
                "Invoked synchronously (Step Functions task or API request): the caller owns retries "
                "and failure routing, so an asynchronous DLQ would never receive a message.",
            )
        acknowledge_each(resource, reasons)

    @property
    def function_arn(self) -> str:
        return self.function.function_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """lambda:InvokeFunction on this function (and its versions), nothing else."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["lambda:InvokeFunction"],
            resource_arns=[self.function.function_arn, f"{self.function.function_arn}:*"],
        )

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of this function (AWS/Lambda, dimension FunctionName; CDK's default: Average over 5 minutes)."""
        return self.function.metric(metric_name, **props)

    def metric_errors(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Invocations that ended in an error (Sum over 5 minutes unless overridden)."""
        props.setdefault("statistic", "Sum")
        return self.metric("Errors", **props)

    def metric_throttles(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Throttled invocation requests (Sum over 5 minutes unless overridden)."""
        props.setdefault("statistic", "Sum")
        return self.metric("Throttles", **props)

    def metric_duration(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Run time per invocation (Average over 5 minutes unless overridden)."""
        props.setdefault("statistic", "Average")
        return self.metric("Duration", **props)

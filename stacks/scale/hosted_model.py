"""`HostedModel`: an open-weights model on a SageMaker real-time endpoint with AWS's LMI container, autoscaled.

- Container: the AWS Deep Learning Container for Large Model Inference (DJL Serving with vLLM), pinned
  (`LMI_IMAGE_TAG`), pulled from the DLC registry account of the region (`dlc_account`). It loads the model from
  the Hugging Face Hub (``HF_MODEL_ID``) or from an S3 prefix, with ``OPTION_QUANTIZE`` from scale.yaml (awq and
  gptq need a checkpoint quantized that way; fp8 quantizes at load).
- Scale to zero (``scale_to_zero``, the default): the endpoint's variant has managed instance scaling down to 0
  instances and the model runs as an inference component; Application Auto Scaling tracks invocations per copy
  (`SageMakerInferenceComponentInvocationsPerCopy`) between 0 and ``max_instances`` copies, and a step policy on
  ``NoCapacityInvocationFailures`` adds the first copy back when a request arrives at zero (SageMaker Developer
  Guide, "Scale an endpoint to zero instances"). Otherwise a classic variant tracks
  `SageMakerVariantInvocationsPerInstance` between ``min_instances`` and ``max_instances``.
- Encryption: the endpoint config's storage volume uses the stage's CMK (``KmsKeyId``), except on instance types
  with local NVMe storage (g4dn, g5, g6, p4d, p5, ...), where SageMaker refuses a KmsKeyId and the instance
  encrypts the local volume in hardware (CreateEndpointConfig, KmsKeyId).
- The execution role pulls exactly the LMI repository, reads exactly the weights' prefix (if any) and writes
  the endpoint's own log group.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.common.nag import acknowledge, acknowledge_all, acknowledge_role_policy, each_pack, iam5_resource_finding
from stacks.scale.settings import HostedModelSettings

LMI_REPOSITORY = "djl-inference"
LMI_IMAGE_TAG = "0.33.0-lmi15.0.0-cu128"  # LMI v15: DJL Serving 0.33.0, vLLM 0.8.4, CUDA 12.8
DLC_ACCOUNT = "763104351884"
# Regions whose Deep Learning Containers live in another registry account (AWS DLC available_images.md).
DLC_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "eu-central-2": "380420809688",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
}
# Families with local NVMe instance storage: SageMaker refuses KmsKeyId on their endpoint configs.
INSTANCE_STORE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en", "p6", "c5d", "m5d", "r5d", "c6id", "m6id"}
)
VARIANT = "primary"
SAGEMAKER = "sagemaker.amazonaws.com"


def dlc_account(region: str) -> str:
    """The registry account of AWS Deep Learning Containers in ``region`` (a token region: the common one)."""
    return DLC_ACCOUNTS.get(region, DLC_ACCOUNT)


def has_instance_storage(instance_type: str) -> bool:
    """Whether ``ml.<family>.<size>`` has local NVMe storage (then the endpoint config takes no KmsKeyId)."""
    return instance_type.split(".")[1] in INSTANCE_STORE_FAMILIES


def container_environment(settings: HostedModelSettings) -> dict[str, str]:
    """LMI's configuration as environment variables (LMI user guide, "Container and model configurations")."""
    environment = {
        "HF_MODEL_ID": "/opt/ml/model" if settings.model_s3_uri else settings.model_id,
        "OPTION_ROLLING_BATCH": "vllm",
        "TENSOR_PARALLEL_DEGREE": str(settings.accelerators_per_copy),
        "OPTION_MAX_MODEL_LEN": str(settings.max_model_len),
    }
    if settings.quantization != "none":
        environment["OPTION_QUANTIZE"] = settings.quantization
    return environment


@dataclass(frozen=True)
class HostedModelProps:
    name_prefix: str
    key: kms.IKey
    settings: HostedModelSettings


class HostedModel(Construct):
    """Exposes ``endpoint_name``, ``inference_component_name`` (None without scale to zero), ``role``,
    ``scalable_target``, `grant_invoke` and the CloudWatch `metric_*` helpers."""

    def __init__(self, scope: Construct, construct_id: str, *, props: HostedModelProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        settings = props.settings
        stack = cdk.Stack.of(self)
        region = stack.region if not cdk.Token.is_unresolved(stack.region) else ""
        self.image_account = dlc_account(region)
        self.image = f"{self.image_account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{LMI_REPOSITORY}:{LMI_IMAGE_TAG}"
        self.endpoint_name = f"{props.name_prefix}-llm"
        self.inference_component_name: str | None = f"{props.name_prefix}-llm-ic" if settings.scale_to_zero else None
        self.role = self._execution_role()
        self.model = self._model()
        self.endpoint_config = self._endpoint_config()
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.inference_component = self._inference_component() if settings.scale_to_zero else None
        self.scalable_target = self._autoscaling()

    # ------------------------------------------------------------------ exposed

    @property
    def endpoint_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(service="sagemaker", resource="endpoint", resource_name=self.endpoint_name)

    @property
    def inference_component_arn(self) -> str | None:
        if self.inference_component_name is None:
            return None
        return cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="inference-component", resource_name=self.inference_component_name
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """InvokeEndpoint and InvokeEndpointWithResponseStream on this endpoint (and its inference component)."""
        arns = [self.endpoint_arn, *([self.inference_component_arn] if self.inference_component_arn else [])]
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            resource_arns=arns,
        )

    def metric(self, metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        """A metric of the endpoint (AWS/SageMaker), per inference component when there is one."""
        dimensions = (
            {"InferenceComponentName": self.inference_component_name}
            if self.inference_component_name
            else {"EndpointName": self.endpoint_name, "VariantName": VARIANT}
        )
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def metric_invocations(self) -> cloudwatch.Metric:
        return self.metric("Invocations")

    def metric_model_latency(self) -> cloudwatch.Metric:
        return self.metric("ModelLatency", statistic="p90")

    # ------------------------------------------------------------------ resources

    def _execution_role(self) -> iam.Role:
        props, stack = self._props, cdk.Stack.of(self)
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                SAGEMAKER, conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
            ),
            description="SageMaker hosted model: pulls the LMI image, reads the weights, writes its logs",
        )
        repository = stack.format_arn(
            service="ecr", account=self.image_account, resource="repository", resource_name=LMI_REPOSITORY
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resource_arns=[repository],
        )
        iam.Grant.add_to_principal(grantee=role, actions=["ecr:GetAuthorizationToken"], resource_arns=["*"])
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            resource_arns=[log_group, f"{log_group}:*"],
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=["logs:CreateLogStream", "logs:PutLogEvents"], resource_arns=[f"{log_group}:*"]
        )
        # The storage volume (and the weights' download) under the stage's key, through SageMaker only.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
            resource_arns=[props.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sagemaker.{cdk.Aws.REGION}.amazonaws.com"}},
        )
        weights = props.settings.model_s3_uri
        if weights:
            bucket, _, prefix = weights.removeprefix("s3://").partition("/")
            iam.Grant.add_to_principal(
                grantee=role,
                actions=["s3:GetObject"],
                resource_arns=[f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}/{prefix}*"],
            )
            iam.Grant.add_to_principal(
                grantee=role,
                actions=["s3:ListBucket"],
                resource_arns=[f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_role_policy(policy)
        acknowledge(
            policy,
            iam5_resource_finding(self, f"{log_group}:*"),
            "Log streams of this endpoint's own log group (/aws/sagemaker/Endpoints/<endpoint>): SageMaker names "
            "a stream per instance and container.",
        )
        if weights:
            bucket, _, prefix = weights.removeprefix("s3://").partition("/")
            acknowledge(
                policy,
                iam5_resource_finding(self, f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}/{prefix}*"),
                "The model weights under the one S3 prefix scale.yaml names (model_s3_uri); file names vary by model.",
            )
        return role

    def _model(self) -> sagemaker.CfnModel:
        settings = self._props.settings
        container: dict[str, object] = {"image": self.image, "environment": container_environment(settings)}
        if settings.model_s3_uri:
            container["modelDataSource"] = {
                "s3DataSource": {
                    "s3Uri": settings.model_s3_uri,
                    "s3DataType": "S3Prefix",
                    "compressionType": "None",
                }
            }
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=container,
            # Weights from the Hugging Face Hub need the network; weights from S3 do not.
            enable_network_isolation=bool(settings.model_s3_uri),
        )
        # SageMaker pulls the image when the model is created: the role's policy must exist by then (the role
        # itself is already ordered by the GetAtt of its ARN).
        model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        return model

    def _endpoint_config(self) -> sagemaker.CfnEndpointConfig:
        props, settings = self._props, self._props.settings
        variant: dict[str, object] = {
            "variantName": VARIANT,
            "instanceType": settings.instance_type,
            "containerStartupHealthCheckTimeoutInSeconds": 900,
            "modelDataDownloadTimeoutInSeconds": 1800,
        }
        if settings.scale_to_zero:
            variant.update(
                initialInstanceCount=1,
                managedInstanceScaling={
                    "status": "ENABLED",
                    "minInstanceCount": 0,
                    "maxInstanceCount": settings.max_instances,
                },
                routingConfig={"routingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            )
        else:
            variant.update(
                modelName=self.model.attr_model_name,
                initialInstanceCount=settings.min_instances,
                initialVariantWeight=1,
            )
        local_storage = has_instance_storage(settings.instance_type)
        config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[variant],
            # Inference components need the role on the endpoint config as well.
            execution_role_arn=self.role.role_arn if settings.scale_to_zero else None,
            kms_key_id=None if local_storage else props.key.key_arn,
        )
        if local_storage:
            acknowledge_all(
                config,
                each_pack("SageMakerEndpointConfigurationKMSKeyConfigured"),
                f"{settings.instance_type} has local NVMe instance storage: SageMaker refuses a KmsKeyId for it and "
                "encrypts the local volume with a hardware module on the instance (CreateEndpointConfig, KmsKeyId).",
            )
        return config

    def _inference_component(self) -> sagemaker.CfnInferenceComponent:
        settings = self._props.settings
        return sagemaker.CfnInferenceComponent(
            self,
            "InferenceComponent",
            inference_component_name=self.inference_component_name,
            endpoint_name=self.endpoint.attr_endpoint_name,
            variant_name=VARIANT,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=settings.accelerators_per_copy,
                    min_memory_required_in_mb=settings.memory_per_copy_mb,
                ),
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(copy_count=1),
        )

    def _autoscaling(self) -> autoscaling.ScalableTarget:
        """Scale to zero: the inference component's copies from 0, tracking invocations per copy. Classic: the
        variant's instances from ``min_instances``, tracking invocations per instance."""
        settings = self._props.settings
        if settings.scale_to_zero:
            assert self.inference_component is not None
            scaled: cdk.CfnResource = self.inference_component
            resource_id = f"inference-component/{self.inference_component_name}"
            dimension, min_capacity = "sagemaker:inference-component:DesiredCopyCount", 0
            tracked = "InvocationsPerCopy"
            metric = autoscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY
        else:
            scaled = self.endpoint
            resource_id = f"endpoint/{self.endpoint_name}/variant/{VARIANT}"
            dimension, min_capacity = "sagemaker:variant:DesiredInstanceCount", settings.min_instances
            tracked = "InvocationsPerInstance"
            metric = autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=resource_id,
            scalable_dimension=dimension,
            min_capacity=min_capacity,
            max_capacity=settings.max_instances,
        )
        target.node.add_dependency(scaled)
        target.scale_to_track_metric(
            tracked,
            predefined_metric=metric,
            target_value=settings.target_invocations,
            scale_in_cooldown=cdk.Duration.seconds(settings.scale_in_cooldown_seconds),
            scale_out_cooldown=cdk.Duration.seconds(settings.scale_out_cooldown_seconds),
        )
        if settings.scale_to_zero:
            # At zero copies there are no invocations to track: a request that finds no capacity adds a copy.
            target.scale_on_metric(
                "ScaleOutFromZero",
                metric=self.metric("NoCapacityInvocationFailures", statistic="Maximum"),
                scaling_steps=[
                    autoscaling.ScalingInterval(upper=1, change=0),
                    autoscaling.ScalingInterval(lower=1, change=1),
                ],
                adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                cooldown=cdk.Duration.seconds(settings.scale_out_cooldown_seconds),
                evaluation_periods=1,
            )
        return target

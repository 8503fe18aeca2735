"""Guardrails stack: the use case's Bedrock guardrail as policy, plus the optional custom Comprehend models.

- `AWS::Bedrock::Guardrail` from usecases/<id>/guardrail.yaml (validated by `GuardrailPolicy`),
  encrypted with the kit's key. Every setting is rendered explicitly: PII input and output actions
  are never left to a default.
- `AWS::Bedrock::GuardrailVersion` whose logical id and description carry the policy fingerprint,
  so a new version is published when, and only when, the policy changes. Prod retains superseded
  versions (audit, rollback); dev deletes them.
- With ``custom_models`` (off by default: endpoints bill per second while they exist), in two steps,
  because training reads its data from a bucket this stack creates. First the training-data bucket alone
  (output ``TrainingDataBucketName``); once the labelled data is under ``safety/`` there and the stage is
  listed in safety.yaml's ``custom_models.train``, a Comprehend document classifier for toxicity and a
  custom entity recognizer, trained at deploy time and each served by a real-time endpoint that the
  safety library then calls. A model's version name is a digest of its training input, so pointing
  safety.yaml at new data trains a new version and moves the endpoint to it.

The guardrail and its version are the `Guardrail` construct (guardrail.py). Grants name their actions and
return `iam.Grant`: `grant_apply` (delegates to `Guardrail.grant_apply`: bedrock:ApplyGuardrail on this
guardrail) and `grant_safety_checks` (the Comprehend calls the safety library makes).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_comprehend as comprehend
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common.buckets import SecureBucket
from stacks.common.kms_key import GRANTS_FOR_AWS_RESOURCES_ONLY
from stacks.common.nag import acknowledge, acknowledge_all, each_pack
from stacks.common.stage_policy import StagePolicy
from stacks.config import CUSTOM_SAFETY_MODEL_REGIONS
from stacks.guardrails.guardrail import Guardrail
from stacks.guardrails.policy import GuardrailPolicy
from stacks.guardrails.safety_settings import SafetyConfig

# Comprehend real-time analysis: these actions support no resource type, so only Resource "*"
# (listed with reasons in tests/policy/resource_star_allowlist.yaml).
COMPREHEND_STAR_ACTIONS = ["comprehend:DetectPiiEntities", "comprehend:DetectToxicContent"]
TRAINING_PREFIX = "safety/"


@dataclass(frozen=True)
class GuardrailsProps:
    key: kms.IKey  # encrypts the guardrail (and, with custom models, training data and models)
    stage: StagePolicy
    usecase_id: str
    policy: GuardrailPolicy
    name_prefix: str  # "<prefix>-<stage>": the stage's prefix already names project and use case
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    custom_models: bool = False  # features.custom_safety_models; safety.custom_models.train says which stages train
    access_logs: s3.IBucket | None = None  # required with custom_models (for the training-data bucket)


class GuardrailsStack(cdk.Stack):
    """Exposes ``guardrail_id``, ``guardrail_arn``, ``guardrail_version``; with custom models ``training_data``
    and, once trained, the endpoint ARNs. Outputs: GuardrailId, GuardrailVersion, TrainingDataBucketName,
    ToxicityClassifierEndpointArn, EntityRecognizerEndpointArn (the last three only with custom models)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: GuardrailsProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        name = _resource_name(props.name_prefix, 50)  # the prefix already names the use case

        self.guardrail = Guardrail(
            self,
            "Guardrail",
            name=name,
            policy=props.policy,
            key=props.key,
            removal_policy=props.stage.removal_policy,
        )
        self.policy_fingerprint = self.guardrail.policy_fingerprint
        self.version = self.guardrail.version

        self.classifier_endpoint_arn: str | None = None
        self.recognizer_endpoint_arn: str | None = None
        self.training_data: SecureBucket | None = None
        if props.custom_models:
            self._add_custom_models(name)

        cdk.CfnOutput(
            self,
            "GuardrailId",
            value=self.guardrail.guardrail_id,
            description="Guardrail id (apply-guardrail --guardrail-identifier)",
        )
        cdk.CfnOutput(
            self,
            "GuardrailVersion",
            value=self.guardrail.guardrail_version,
            description="Version published for the current guardrail.yaml (apply-guardrail --guardrail-version)",
        )

    # --------------------------------------------------------------- exposed

    @property
    def guardrail_id(self) -> str:
        return self.guardrail.guardrail_id

    @property
    def guardrail_arn(self) -> str:
        return self.guardrail.guardrail_arn

    @property
    def guardrail_version(self) -> str:
        return self.guardrail.guardrail_version

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant:
        """`Guardrail.grant_apply` of this stack's guardrail."""
        return self.guardrail.grant_apply(grantee)

    def grant_safety_checks(self, grantee: iam.IGrantable) -> iam.Grant:
        """The Comprehend calls of the safety library: toxicity and PII (no resource type, so "*"),
        and the custom endpoints when they exist."""
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=COMPREHEND_STAR_ACTIONS, resource_arns=["*"])
        if self.classifier_endpoint_arn is not None:
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=["comprehend:ClassifyDocument"],
                    resource_arns=[self.classifier_endpoint_arn],
                )
            )
        if self.recognizer_endpoint_arn is not None:
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=["comprehend:DetectEntities"],
                    resource_arns=[self.recognizer_endpoint_arn],
                )
            )
        return grant

    def safety_settings_json(self) -> str:
        """``SAFETY_SETTINGS`` for a function using the safety library (resolves to Fn::Join at synth)."""
        settings = self._props.safety.runtime_settings(
            guardrail_identifier=self.guardrail_id,
            guardrail_version=self.guardrail_version,
            classifier_endpoint_arn=self.classifier_endpoint_arn,
            recognizer_endpoint_arn=self.recognizer_endpoint_arn,
        )
        # The tokens in it are ids, a version and ARNs (no quotes or backslashes to escape), so a plain
        # json.dumps keeps them intact and CloudFormation fills them in (an Fn::Join where it is used).
        # Unset endpoints and identifier are left out (they default to None), which keeps the variable small.
        data = settings.model_dump(mode="json", exclude_none=True)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    # --------------------------------------------------------- custom models

    def _add_custom_models(self, name: str) -> None:
        props = self._props
        models = props.safety.custom_models
        if props.access_logs is None:
            raise ValueError("custom_models needs access_logs for its training-data bucket")
        # A pinned region without the Comprehend endpoint resources is a config error (KitConfig); a
        # construct used outside the kit's app still fails here rather than at deploy.
        if not cdk.Token.is_unresolved(self.region) and self.region not in CUSTOM_SAFETY_MODEL_REGIONS:
            raise ValueError(
                f"custom_models: CloudFormation in {self.region} lacks the Comprehend endpoint resources; "
                f"use one of {', '.join(sorted(CUSTOM_SAFETY_MODEL_REGIONS))}"
            )
        if models.toxicity_classifier is None and models.entity_recognizer is None:
            raise ValueError("custom_models is on but safety.yaml defines no custom_models to train")
        self.training_data = SecureBucket(
            self, "TrainingData", key=props.key, access_logs=props.access_logs, stage=props.stage
        )
        bucket = self.training_data
        cdk.CfnOutput(
            self,
            "TrainingDataBucketName",
            value=bucket.bucket_name,
            description=f"Training data of the custom safety models, under {TRAINING_PREFIX}",
        )
        if props.stage.stage not in models.train:
            return  # step 1: the bucket only; the models need its data at create time (docs/security.md)
        role = iam.Role(
            self,
            "ComprehendDataAccess",
            description="Comprehend reads the labelled training data of the custom safety models",
            assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": [
                            self.format_arn(service="comprehend", resource="document-classifier", resource_name="*"),
                            self.format_arn(service="comprehend", resource="entity-recognizer", resource_name="*"),
                        ]
                    },
                }
            ),
        )
        bucket.grant_read(role, TRAINING_PREFIX)  # also acknowledges the IAM5 finding of the prefix ARN
        # Training volumes and models are encrypted with the kit key; Comprehend needs grants on it, which
        # it creates for its own resources only (kms:GrantIsForAWSResource, as the key policy requires).
        via_comprehend = {"StringEquals": {"kms:ViaService": f"comprehend.{self.region}.amazonaws.com"}}
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resource_arns=[props.key.key_arn],
            conditions=via_comprehend,
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["kms:CreateGrant"],
            resource_arns=[props.key.key_arn],
            conditions={**via_comprehend, **GRANTS_FOR_AWS_RESOURCES_ONLY},
        )
        role_policy = role.node.find_child("DefaultPolicy")  # training starts only once the grants exist
        policy = role_policy.node.default_child
        assert policy is not None
        acknowledge_all(
            policy,
            each_pack("IAMNoInlinePolicy"),
            "This policy belongs to exactly one role (Comprehend's data access), is created and deleted with it, "
            "and is reviewed with it; a managed copy would be attachable elsewhere without narrowing anything.",
        )

        def s3_uri(key: str) -> str:
            return f"s3://{bucket.bucket_name}/{TRAINING_PREFIX}{key.removeprefix(TRAINING_PREFIX)}"

        if models.toxicity_classifier is not None:
            spec = models.toxicity_classifier
            classifier = comprehend.CfnDocumentClassifier(
                self,
                "ToxicityClassifier",
                document_classifier_name=_resource_name(f"{name}-toxicity", 63),
                version_name=_version_name(spec.training_csv),
                data_access_role_arn=role.role_arn,
                language_code="en",
                mode="MULTI_CLASS",
                input_data_config=comprehend.CfnDocumentClassifier.DocumentClassifierInputDataConfigProperty(
                    data_format="COMPREHEND_CSV", s3_uri=s3_uri(spec.training_csv)
                ),
                model_kms_key_id=props.key.key_arn,
                volume_kms_key_id=props.key.key_arn,
            )
            classifier.node.add_dependency(role_policy)
            classifier.apply_removal_policy(props.stage.removal_policy)
            endpoint = comprehend.CfnDocumentClassifierEndpoint(
                self,
                "ToxicityClassifierEndpoint",
                endpoint_name=_resource_name(f"{name}-toxicity", 40),
                model_arn=classifier.attr_arn,
                desired_inference_units=spec.inference_units,
            )
            self.classifier_endpoint_arn = endpoint.attr_arn
            cdk.CfnOutput(
                self,
                "ToxicityClassifierEndpointArn",
                value=endpoint.attr_arn,
                description="Comprehend endpoint of the custom toxicity classifier (classify-document --endpoint-arn)",
            )

        if models.entity_recognizer is not None:
            spec_er = models.entity_recognizer
            recognizer = comprehend.CfnEntityRecognizer(
                self,
                "EntityRecognizer",
                recognizer_name=_resource_name(f"{name}-entities", 63),
                version_name=_version_name(spec_er.documents, spec_er.entity_list, *spec_er.entity_types),
                data_access_role_arn=role.role_arn,
                language_code="en",
                input_data_config=comprehend.CfnEntityRecognizer.EntityRecognizerInputDataConfigProperty(
                    entity_types=[
                        comprehend.CfnEntityRecognizer.EntityTypesListItemProperty(type=t) for t in spec_er.entity_types
                    ],
                    data_format="COMPREHEND_CSV",
                    documents=comprehend.CfnEntityRecognizer.EntityRecognizerDocumentsProperty(
                        s3_uri=s3_uri(spec_er.documents), input_format="ONE_DOC_PER_LINE"
                    ),
                    entity_list=comprehend.CfnEntityRecognizer.EntityRecognizerEntityListProperty(
                        s3_uri=s3_uri(spec_er.entity_list)
                    ),
                ),
                model_kms_key_id=props.key.key_arn,
                volume_kms_key_id=props.key.key_arn,
            )
            recognizer.node.add_dependency(role_policy)
            recognizer.apply_removal_policy(props.stage.removal_policy)
            er_endpoint = comprehend.CfnEntityRecognizerEndpoint(
                self,
                "EntityRecognizerEndpoint",
                endpoint_name=_resource_name(f"{name}-entities", 40),
                model_arn=recognizer.attr_arn,
                desired_inference_units=spec_er.inference_units,
            )
            acknowledge(
                er_endpoint,
                "CloudFormation-Validate::F3006",
                "AWS::Comprehend::EntityRecognizerEndpoint is a published CloudFormation type (CDK ships its L1; "
                "cfn-lint's us-east-1 schema has it) that CDK's bundled validation schema does not list yet.",
            )
            self.recognizer_endpoint_arn = er_endpoint.attr_arn
            cdk.CfnOutput(
                self,
                "EntityRecognizerEndpointArn",
                value=er_endpoint.attr_arn,
                description="Comprehend endpoint of the custom entity recognizer (detect-entities --endpoint-arn)",
            )


def _version_name(*training_input: str) -> str:
    """A Comprehend model version named after what it is trained on: new input, new version (the model's
    name stays, so CloudFormation can create the replacement before it deletes the old one)."""
    return "v" + hashlib.sha256("\n".join(training_input).encode()).hexdigest()[:16]


def _resource_name(value: str, limit: int) -> str:
    """Letters, digits and single hyphens (Bedrock and Comprehend name rules), cut to ``limit``."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", value)).strip("-")
    return cleaned[:limit].rstrip("-")

"""The Data stack's pipeline functions, their settings layer, and the least privilege each one gets.

One function per step (`pipeline.<step>.handler` in lambdas/); each step's slice of data.yaml travels as
/opt/settings/<step>.json in one settings layer, and its environment holds only names. The grants below are
the whole of what a step may do; the curated bucket's policy also denies every writer but publish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from pipeline.contract import FUNCTION_SECTIONS

from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import grant_key_use_via
from stacks.common.settings_layer import SettingsLayer
from stacks.data.stores import (
    DATASETS,
    DOCUMENTS,
    RECORDS,
    REPORTS,
    STAGING_PARTS,
    STAGING_REDACTED,
    STAGING_VALID,
    DataStores,
)

if TYPE_CHECKING:
    from stacks.data.stack import DataProps

DESCRIPTIONS = {
    "start": "Data pipeline: start a run from the dataset's _READY marker",
    "validate": "Data pipeline: validate format, encoding, schema, size and duplicates",
    "redact": "Data pipeline: detect PII with Comprehend and apply the use case's policy",
    "split": "Data pipeline: stream a big CSV or JSONL object and cut it into parts at record boundaries",
    "part": "Data pipeline: validate and redact one part of a big object, as validate and redact do",
    "assemble": "Data pipeline: put a big object's validated, redacted parts together again",
    "profile": "Data pipeline: count groups, outcomes, missing values and PII per object",
    "assess": "Data pipeline: bias profile and PASS/WARN/FAIL verdict of the run",
    "publish": "Data pipeline: publish redacted records and knowledge-base documents to curated",
    "quarantine": "Data pipeline: move an object whose processing failed to quarantine",
    "finalize": "Data pipeline: prove conservation, write the report and metrics",
}
# (memory MB, timeout s) where a step needs more than the default (512, 60).
SIZES = {
    "validate": (1769, 300),
    "redact": (1024, 600),
    # The split streams up to max_fanout_object_bytes in one invocation: a full vCPU, Lambda's longest timeout.
    "split": (1769, 900),
    "part": (1769, 600),  # a part of at most row_fanout_bytes, validated and redacted
    "assemble": (1024, 900),  # streams the parts' outputs in 8 MiB pieces
    "profile": (1024, 300),
    "publish": (1024, 300),
}
TABLE_ACTIONS = {
    "start": ["dynamodb:PutItem"],
    "profile": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
    "assess": ["dynamodb:GetItem"],
    "publish": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    "quarantine": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    "finalize": ["dynamodb:GetItem"],
}


class PipelineFunctions:
    """Builds the settings layer and one function per step in ``stack``, then grants each its access.

    `by_step` maps a step name to its `KitFunction`; `settings_layer` holds each step's settings file.
    """

    def __init__(self, stack: cdk.Stack, props: DataProps, stores: DataStores, *, namespace: str) -> None:
        # data.yaml grows with the use case (a schema per source, the PII policy, the bias profile): each step's
        # slice travels as /opt/settings/<step>.json in one layer, not in the 4 KB environment.
        settings = props.settings.contract()  # lambdas/pipeline/contract.py: what the functions parse
        self.settings_layer = SettingsLayer(
            stack,
            "PipelineSettings",
            files={step: settings.only(sections).wire() for step, sections in FUNCTION_SECTIONS.items()},
            description=f"{props.name_prefix}: data pipeline settings from data.yaml, one file per step",
        )
        environment = _environments(props, stores)
        self.by_step: dict[str, KitFunction] = {}
        for step, description in DESCRIPTIONS.items():
            env = dict(environment.get(step, {}))
            if step in TABLE_ACTIONS:
                env["LEDGER_TABLE"] = stores.ledger.table_name
            if step in FUNCTION_SECTIONS:
                env.update(self.settings_layer.environment(step))
            memory, timeout = SIZES.get(step, (512, 60))
            self.by_step[step] = KitFunction(
                stack,
                f"{construct_name(step)}Function",
                handler=f"pipeline.{step}.handler",
                description=description,
                service=f"data-{step}",
                namespace=namespace,
                key=props.key,
                stage=props.stage,
                environment=env,
                memory_size=memory,
                timeout=cdk.Duration.seconds(timeout),
                layers=[self.settings_layer.layer] if step in FUNCTION_SECTIONS else (),
            )
        _grant(self.by_step, props, stores)
        _curated_writable_only_by_publish(self.by_step["publish"], stores)


def construct_name(step: str) -> str:
    """`start` -> `Start` (`a_b` -> `AB`): the construct id (and logical-id prefix) of a step's function."""
    return "".join(part.capitalize() for part in step.split("_"))


def _environments(props: DataProps, stores: DataStores) -> dict[str, dict[str, str]]:
    """The names each step reads from its environment (besides the ledger table and its settings file)."""
    return {
        "validate": {"QUARANTINE_BUCKET": stores.quarantine.bucket_name, "CLAIMS_TABLE": stores.claims.table_name},
        "redact": {
            "QUARANTINE_BUCKET": stores.quarantine.bucket_name,
            "HASH_SALT_SECRET_ARN": stores.hash_salt.ref,
        },
        "part": {"CLAIMS_TABLE": stores.claims.table_name, "HASH_SALT_SECRET_ARN": stores.hash_salt.ref},
        "assemble": {"QUARANTINE_BUCKET": stores.quarantine.bucket_name},
        "publish": {"CURATED_BUCKET": stores.curated.bucket_name, "USECASE_ID": props.usecase_id},
        "quarantine": {
            "QUARANTINE_BUCKET": stores.quarantine.bucket_name,
            "CURATED_BUCKET": stores.curated.bucket_name,
        },
        "finalize": {
            "REPORTS_BUCKET": stores.reports.bucket_name,
            "CURATED_BUCKET": stores.curated.bucket_name,
            "USECASE_ID": props.usecase_id,
        },
    }


def _grant(functions: dict[str, KitFunction], props: DataProps, stores: DataStores) -> None:
    fn = {step: f.role for step, f in functions.items()}
    key = props.key
    raw, curated, quarantine = stores.raw, stores.curated, stores.quarantine
    for step, actions in TABLE_ACTIONS.items():
        iam.Grant.add_to_principal(grantee=fn[step], actions=actions, resource_arns=[stores.ledger.table_arn])
        grant_key_use_via(key, fn[step], "dynamodb", encrypt=True)
    # validate and part: claim record digests to find duplicates across objects (and touch no run ledger).
    for step in ("validate", "part"):
        iam.Grant.add_to_principal(
            grantee=fn[step],
            actions=["dynamodb:BatchGetItem", "dynamodb:PutItem"],
            resource_arns=[stores.claims.table_arn],
        )
        grant_key_use_via(key, fn[step], "dynamodb", encrypt=True)
    # validate: read raw uploads, stage valid records, quarantine the rest.
    raw.grant_read(fn["validate"], DATASETS)
    raw.grant_write(fn["validate"], STAGING_VALID)
    quarantine.grant_write(fn["validate"], DATASETS)
    # redact: staged valid records in, redacted records out; Comprehend; the salt.
    raw.grant_read(fn["redact"], STAGING_VALID)
    raw.grant_write(fn["redact"], STAGING_REDACTED)
    quarantine.grant_write(fn["redact"], DATASETS)
    # split: streams a big raw upload and writes its parts; nothing else (quarantine copies a rejected one).
    raw.grant_read(fn["split"], DATASETS)
    raw.grant_write(fn["split"], STAGING_PARTS)
    # part: one part in; its rejects, redacted records and counts out, beside it.
    raw.grant_read(fn["part"], STAGING_PARTS)
    raw.grant_write(fn["part"], STAGING_PARTS)
    # assemble: the parts' outputs into the object's staged redacted records (what publish reads) and its
    # rejects (quarantine).
    raw.grant_read(fn["assemble"], STAGING_PARTS)
    raw.grant_write(fn["assemble"], STAGING_REDACTED)
    quarantine.grant_write(fn["assemble"], DATASETS)
    for step in ("redact", "part"):
        iam.Grant.add_to_principal(grantee=fn[step], actions=["comprehend:DetectPiiEntities"], resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=fn[step], actions=["secretsmanager:GetSecretValue"], resource_arns=[stores.hash_salt.ref]
        )
        grant_key_use_via(key, fn[step], "secretsmanager", encrypt=False)
    # profile: reads the redacted records it counts.
    raw.grant_read(fn["profile"], STAGING_REDACTED)
    # publish: the only writer of curated (the bucket policy denies everyone else), records and documents.
    raw.grant_read(fn["publish"], STAGING_REDACTED)
    curated.grant_write(fn["publish"], RECORDS)
    curated.grant_write(fn["publish"], DOCUMENTS)
    # quarantine: copies the failed object, removes what a failed publish left behind.
    raw.grant_read(fn["quarantine"], DATASETS)
    raw.grant_read(fn["quarantine"], STAGING_REDACTED)
    quarantine.grant_write(fn["quarantine"], DATASETS)
    quarantine.grant_delete(fn["quarantine"], DATASETS)
    curated.grant_delete(fn["quarantine"], RECORDS)
    curated.grant_delete(fn["quarantine"], DOCUMENTS)
    # finalize: writes the run report.
    stores.reports.grant_write(fn["finalize"], REPORTS)


def _curated_writable_only_by_publish(publish: KitFunction, stores: DataStores) -> None:
    stores.curated.bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="OnlyThePublishStepWritesCurated",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[stores.curated.arn_for()],
            conditions={"ArnNotEquals": {"aws:PrincipalArn": publish.role.role_arn}},
        )
    )

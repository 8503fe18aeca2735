"""`VectorKnowledgeBase`: a Bedrock knowledge base on S3 Vectors (default) or OpenSearch Serverless.

A building block in the style of the AWS CDK design guidelines, usable without the rest of the kit:
it needs a KMS key and nothing else. It creates the vector store, the knowledge-base service role
(trusted by Bedrock for this account's knowledge bases only) and the `AWS::Bedrock::KnowledgeBase`;
`add_s3_data_source` connects a bucket prefix with a chunking strategy. `grant_*` methods name every
action; `metric_*` methods read the ingestion metrics a sync publishes (namespace `metrics_namespace`,
dimension `KnowledgeBaseId`) and the embedding model's own `AWS/Bedrock` metrics.

The aws-bedrock-alpha `VectorKnowledgeBase` only supports OpenSearch Serverless, so this is built on
the L1s (`aws_bedrock.CfnKnowledgeBase`, `aws_s3vectors.CfnVectorBucket` / `CfnIndex`).
"""

from __future__ import annotations

import re
from typing import Literal, Unpack

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from stacks.common.kms_key import add_key_policy_statement, grant_key_use_via
from stacks.common.metrics import MetricProps, block_metric
from stacks.common.nag import (
    RESOURCE_STAR_REASON,
    acknowledge,
    acknowledge_all,
    acknowledge_object_prefix,
    each_pack,
    iam5_resource_finding,
)
from stacks.common.opensearch_vector_store import OpenSearchVectorStore

VectorStore = Literal["s3vectors", "opensearch"]

DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
DEFAULT_METRICS_NAMESPACE = "JourneyKit/Knowledge"
# Bedrock writes the chunk text and its metadata into these two keys of every vector. They exceed
# S3 Vectors' 2 KB filterable-metadata limit, so they must be non-filterable (AWS docs, "Using S3
# Vectors with Amazon Bedrock Knowledge Bases").
BEDROCK_NON_FILTERABLE_KEYS = ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]

# Metric names published by an ingestion sync (lambdas/knowledge/ingestion.py emits exactly these).
DOCUMENTS_SCANNED = "DocumentsScanned"
DOCUMENTS_INDEXED = "DocumentsIndexed"
DOCUMENTS_DELETED = "DocumentsDeleted"
DOCUMENTS_FAILED = "DocumentsFailed"
INGESTION_JOBS_SUCCEEDED = "IngestionJobsSucceeded"
INGESTION_JOBS_FAILED = "IngestionJobsFailed"

# Actions the knowledge-base role needs on its S3 vector index, no more.
S3_VECTORS_ACTIONS = [
    "s3vectors:DeleteVectors",
    "s3vectors:GetIndex",
    "s3vectors:GetVectors",
    "s3vectors:ListVectors",
    "s3vectors:PutVectors",
    "s3vectors:QueryVectors",
]

# Cross-region inference profile ids start with a geography: "us.anthropic.claude-...".
_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|jp|au|ca|us-gov|global)\.")


class Chunking:
    """How a data source splits documents into chunks; build one with the static methods."""

    def __init__(self, configuration: bedrock.CfnDataSource.ChunkingConfigurationProperty) -> None:
        self.configuration = configuration

    @staticmethod
    def fixed(*, max_tokens: int = 300, overlap_percentage: int = 20) -> Chunking:
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="FIXED_SIZE",
                fixed_size_chunking_configuration=bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
                    max_tokens=max_tokens, overlap_percentage=overlap_percentage
                ),
            )
        )

    @staticmethod
    def hierarchical(
        *, parent_max_tokens: int = 1500, child_max_tokens: int = 300, overlap_tokens: int = 60
    ) -> Chunking:
        level = bedrock.CfnDataSource.HierarchicalChunkingLevelConfigurationProperty
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="HIERARCHICAL",
                hierarchical_chunking_configuration=bedrock.CfnDataSource.HierarchicalChunkingConfigurationProperty(
                    level_configurations=[level(max_tokens=parent_max_tokens), level(max_tokens=child_max_tokens)],
                    overlap_tokens=overlap_tokens,
                ),
            )
        )

    @staticmethod
    def semantic(*, max_tokens: int = 300, buffer_size: int = 0, breakpoint_percentile_threshold: int = 95) -> Chunking:
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="SEMANTIC",
                semantic_chunking_configuration=bedrock.CfnDataSource.SemanticChunkingConfigurationProperty(
                    max_tokens=max_tokens,
                    buffer_size=buffer_size,
                    breakpoint_percentile_threshold=breakpoint_percentile_threshold,
                ),
            )
        )

    @staticmethod
    def none() -> Chunking:
        """One chunk per file."""
        return Chunking(bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy="NONE"))


class S3DataSource(Construct):
    """An S3 prefix feeding a knowledge base; `data_source_id` is what StartIngestionJob needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_base_id: str,
        bucket: s3.IBucket,
        prefix: str,
        chunking: Chunking,
        name: str,
        data_deletion_policy: Literal["DELETE", "RETAIN"],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource = bedrock.CfnDataSource(
            self,
            "Resource",
            knowledge_base_id=knowledge_base_id,
            name=name,
            description=f"Objects under '{prefix}'" if prefix else "All objects of the bucket",
            data_deletion_policy=data_deletion_policy,
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                    bucket_arn=bucket.bucket_arn,
                    # Bedrock rejects an empty prefix; no prefix means the whole bucket.
                    inclusion_prefixes=[prefix] if prefix else None,
                    bucket_owner_account_id=cdk.Aws.ACCOUNT_ID,
                ),
            ),
            vector_ingestion_configuration=bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
                chunking_configuration=chunking.configuration
            ),
        )
        self.resource.apply_removal_policy(removal_policy)

    @property
    def data_source_id(self) -> str:
        return self.resource.attr_data_source_id


class VectorKnowledgeBase(Construct):
    """A VECTOR knowledge base with its own vector store and a least-privilege service role.

    :param encryption_key: encrypts the vector store. For S3 Vectors the key policy gets one statement
        letting the S3 Vectors indexing service decrypt for this vector bucket only (skipped, with a
        warning, when the key is imported and its policy cannot be changed here).
    :param embedding_model_id: Bedrock foundation-model id of the embedding model.
    :param embedding_dimensions: vector size; must be one the model supports (Titan v2: 256, 512, 1024).
    :param vector_store: "s3vectors" (default, near-zero idle cost) or "opensearch" (hybrid search).
    :param vector_bucket_name: leave unset (recommended): CloudFormation then generates the vector bucket's
        name, so an update that must replace the bucket (its encryption key is replacement-only and usually
        comes from another stack) can. A custom name cannot be replaced in place; with one, the key policy
        names exactly that bucket, without one it allows the indexing service for this account's vector
        buckets in the region (the generated name is not known to the key's stack without a dependency cycle).
    :param metrics_namespace: where an ingestion sync publishes the metrics `metric_*` read.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        knowledge_base_name: str | None = None,
        description: str = "Vector knowledge base",
        embedding_model_id: str = DEFAULT_EMBEDDING_MODEL,
        embedding_dimensions: int = 1024,
        vector_store: VectorStore = "s3vectors",
        vector_bucket_name: str | None = None,
        opensearch_standby_replicas: bool = True,
        opensearch_index_admin_arns: list[str] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        metrics_namespace: str = DEFAULT_METRICS_NAMESPACE,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= embedding_dimensions <= 4096:
            raise ValueError(f"embedding_dimensions must be 1-4096, got {embedding_dimensions}")
        stack = cdk.Stack.of(self)
        self._encryption_key = encryption_key
        self._removal_policy = removal_policy
        self.embedding_model_id = embedding_model_id
        self.metrics_namespace = metrics_namespace
        self.embedding_model_arn = foundation_model_arn(self, embedding_model_id)

        self.role = iam.Role(
            self,
            "ServiceRole",
            description="Bedrock knowledge base service role (least privilege)",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    # Only Bedrock acting for a knowledge base of this account and region (confused deputy).
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="bedrock", resource="knowledge-base", resource_name="*"
                        )
                    },
                },
            ),
        )
        self._allow(["bedrock:InvokeModel"], [self.embedding_model_arn])
        self._role_policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_all(
            self._role_policy.node.default_child,  # type: ignore[arg-type]
            each_pack("IAMNoInlinePolicy"),
            "The knowledge-base role's policy is created, changed and deleted with that one role and "
            "lists every permission it has; a managed copy could be attached elsewhere.",
        )

        name = knowledge_base_name or _sanitize(cdk.Names.unique_resource_name(self, max_length=100, separator="-"))
        self.opensearch: OpenSearchVectorStore | None = None
        self.vector_index_arn: str | None = None
        self.vector_bucket_arn: str | None = None
        if vector_store == "s3vectors":
            storage = self._s3_vectors(vector_bucket_name, embedding_dimensions)
        else:
            self.opensearch = OpenSearchVectorStore(
                self,
                "OpenSearch",
                collection_name=_sanitize(cdk.Names.unique_resource_name(self, max_length=32, separator="-")),
                encryption_key=encryption_key,
                dimensions=embedding_dimensions,
                data_access_principal_arns=[self.role.role_arn],
                index_admin_arns=opensearch_index_admin_arns,
                standby_replicas=opensearch_standby_replicas,
                removal_policy=removal_policy,
            )
            self.opensearch.grant_data_access(self.role)
            storage = self.opensearch.storage_configuration

        self.resource = bedrock.CfnKnowledgeBase(
            self,
            "Resource",
            name=name,
            description=description,
            role_arn=self.role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=self.embedding_model_arn,
                    embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=embedding_dimensions, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            ),
            storage_configuration=storage,
        )
        self.resource.apply_removal_policy(removal_policy)
        # Bedrock checks its access to the vector store on create ("The knowledge base storage configuration
        # provided is invalid... 403" when it cannot), and the data source's DELETE policy needs it on delete:
        # the role's policy must exist before and outlive the knowledge base. This is the order well-known
        # samples use: awslabs/generative-ai-cdk-constructs' VectorKnowledgeBase makes its CfnKnowledgeBase
        # depend on the role and on the role's policy (the role here through RoleArn's GetAtt; an explicit
        # DependsOn on it would be redundant, cfn-lint W3005). A policy only seconds old can still be unseen
        # by Bedrock (IAM is eventually consistent); docs/deploy.md says how to retry that one failure.
        self.resource.node.add_dependency(self._role_policy)
        if self.opensearch is not None:
            # The index (and through it the data-access and network policies) must exist first.
            self.resource.node.add_dependency(self.opensearch.index)

    # ------------------------------------------------------------------ attributes

    @property
    def knowledge_base_id(self) -> str:
        return self.resource.attr_knowledge_base_id

    @property
    def knowledge_base_arn(self) -> str:
        return self.resource.attr_knowledge_base_arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The service role, so bucket grants (`bucket.grant_read(kb, prefix)`) can target the knowledge base."""
        return self.role

    # ------------------------------------------------------------------ data sources

    def add_s3_data_source(
        self,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str = "",
        chunking: Chunking | None = None,
        bucket_key: kms.IKey | None = None,
        grant_read: bool = True,
        name: str | None = None,
        data_deletion_policy: Literal["DELETE", "RETAIN"] = "DELETE",
    ) -> S3DataSource:
        """Ingest objects under ``prefix``; DELETE removes their vectors when the data source goes.

        With ``grant_read`` the role gets s3:GetObject on the prefix, s3:ListBucket limited to it and
        kms:Decrypt of ``bucket_key`` through S3. Pass ``grant_read=False`` when the bucket's owner
        grants read access itself (the kit's `SecureBucket.grant_read(kb, prefix)`).
        """
        if grant_read:
            objects = bucket.arn_for_objects(f"{prefix}*")
            self._allow(["s3:GetObject"], [objects])
            acknowledge_object_prefix(
                self.role,
                objects,
                "Bedrock ingests every object under the data-source prefix; object keys are not known at "
                "deploy time, so s3:GetObject is scoped to that prefix, the narrowest S3 resource there is.",
            )
            listing = iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
            if prefix:
                listing.add_condition("StringLike", {"s3:prefix": [f"{prefix}*"]})
            self.role.add_to_principal_policy(listing)
            if bucket_key is not None:
                grant_key_use_via(bucket_key, self.role, "s3", encrypt=False)
        source = S3DataSource(
            self,
            construct_id,
            knowledge_base_id=self.knowledge_base_id,
            bucket=bucket,
            prefix=prefix,
            chunking=chunking or Chunking.fixed(),
            name=name or construct_id,
            data_deletion_policy=data_deletion_policy,
            removal_policy=self._removal_policy,
        )
        source.node.add_dependency(self._role_policy)
        return source

    # ------------------------------------------------------------------ grants

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:Retrieve on this knowledge base only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:Retrieve"], resource_arns=[self.knowledge_base_arn]
        )

    def grant_retrieve_and_generate(self, grantee: iam.IGrantable, model: str) -> iam.Grant:
        """Retrieve here, RetrieveAndGenerate (an action without resource type) and InvokeModel on ``model``.

        ``model`` is a foundation-model id or a cross-region inference-profile id; a profile also
        needs its foundation model in every destination region.
        """
        grant = self.grant_retrieve(grantee)
        grant = grant.combine(
            iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:RetrieveAndGenerate"], resource_arns=["*"])
        )
        models = model_arns(self, model)
        grant = grant.combine(
            iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:InvokeModel"], resource_arns=models)
        )
        principal = grantee.grant_principal
        policy = principal.node.try_find_child("DefaultPolicy") if isinstance(principal, iam.Role) else None
        if policy is None or policy.node.default_child is None:
            return grant
        acknowledge(policy.node.default_child, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", RESOURCE_STAR_REASON)
        for arn in models:
            if "*" in str(cdk.Stack.of(policy).resolve(arn)):
                acknowledge(
                    policy.node.default_child,
                    iam5_resource_finding(policy, arn),
                    "A cross-region inference profile sends each request to any region of its geography; "
                    "the foundation model is named, only its region is open, as Bedrock documents.",
                )
        return grant

    def grant_ingestion(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start and follow ingestion jobs of this knowledge base (what a sync needs)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["bedrock:GetIngestionJob", "bedrock:StartIngestionJob"],
            resource_arns=[self.knowledge_base_arn],
        )

    # ------------------------------------------------------------------ metrics

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """An ingestion metric of this knowledge base (Sum over 5 minutes unless overridden)."""
        return block_metric(
            self.metrics_namespace,
            metric_name,
            {"KnowledgeBaseId": self.knowledge_base_id},
            default_statistic="Sum",
            default_period=cdk.Duration.minutes(5),
            **props,
        )

    def metric_documents_scanned(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        return self.metric(DOCUMENTS_SCANNED, **props)

    def metric_documents_indexed(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """New plus modified documents indexed by finished ingestion jobs."""
        return self.metric(DOCUMENTS_INDEXED, **props)

    def metric_documents_deleted(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        return self.metric(DOCUMENTS_DELETED, **props)

    def metric_documents_failed(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        return self.metric(DOCUMENTS_FAILED, **props)

    def metric_ingestion_jobs_succeeded(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        return self.metric(INGESTION_JOBS_SUCCEEDED, **props)

    def metric_ingestion_jobs_failed(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        return self.metric(INGESTION_JOBS_FAILED, **props)

    def metric_embedding_throttles(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """AWS/Bedrock InvocationThrottles of the embedding model (account-wide for that model)."""
        return block_metric(
            "AWS/Bedrock",
            "InvocationThrottles",
            {"ModelId": self.embedding_model_id},
            default_statistic="Sum",
            default_period=cdk.Duration.minutes(5),
            **props,
        )

    # ------------------------------------------------------------------ internals

    def _s3_vectors(
        self, vector_bucket_name: str | None, dimensions: int
    ) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        if vector_bucket_name is not None and cdk.Token.is_unresolved(vector_bucket_name):
            raise ValueError("vector_bucket_name must be a literal: the key policy names the bucket")
        encryption = s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
            sse_type="aws:kms", kms_key_arn=self._encryption_key.key_arn
        )
        # No name by default: CloudFormation generates one, so the bucket stays replaceable (see the class).
        bucket = s3vectors.CfnVectorBucket(
            self, "VectorBucket", vector_bucket_name=vector_bucket_name, encryption_configuration=encryption
        )
        bucket.apply_removal_policy(self._removal_policy)
        index = s3vectors.CfnIndex(
            self,
            "VectorIndex",
            vector_bucket_arn=bucket.attr_vector_bucket_arn,
            index_name="bedrock-knowledge-base",
            data_type="float32",
            dimension=dimensions,
            distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=BEDROCK_NON_FILTERABLE_KEYS
            ),
        )
        index.apply_removal_policy(self._removal_policy)
        self.vector_bucket_arn = bucket.attr_vector_bucket_arn
        self.vector_index_arn = index.attr_index_arn

        self._allow(S3_VECTORS_ACTIONS, [index.attr_index_arn])
        # S3 Vectors encrypts and decrypts with the caller's permissions, like S3 with SSE-KMS.
        grant_key_use_via(self._encryption_key, self.role, "s3vectors", encrypt=True)
        self._allow_indexing_service(vector_bucket_name)
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="S3_VECTORS",
            s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                index_arn=index.attr_index_arn
            ),
        )

    def _allow_indexing_service(self, bucket_name: str | None) -> None:
        """S3 Vectors' background indexing decrypts with the bucket's key (AWS docs, S3 Vectors encryption).

        With a custom name exactly that bucket and its indexes; with a generated one this account's vector
        buckets in the region (``bucket/*`` covers their indexes too).
        """
        buckets = f"arn:{cdk.Aws.PARTITION}:s3vectors:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:bucket/"
        bucket_arn = f"{buckets}{bucket_name}" if bucket_name is not None else f"{buckets}*"
        source_arns = [bucket_arn, f"{bucket_arn}/*"] if bucket_name is not None else bucket_arn
        add_key_policy_statement(
            self,
            self._encryption_key,
            iam.PolicyStatement(
                sid=f"S3VectorsIndexing{cdk.Names.unique_id(self)}"[:100],
                principals=[iam.ServicePrincipal("indexing.s3vectors.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": source_arns},
                    "ForAnyValue:StringEquals": {
                        "kms:EncryptionContextKeys": ["aws:s3vectors:arn", "aws:s3vectors:resource-id"]
                    },
                },
            ),
            consequence="creating the vector index fails with 'Insufficient access'",
        )

    def _allow(self, actions: list[str], resources: list[str]) -> None:
        iam.Grant.add_to_principal(grantee=self.role, actions=actions, resource_arns=resources)


def foundation_model_arn(scope: Construct, model_id: str, region: str | None = None) -> str:
    """ARN of a Bedrock foundation model in ``region`` (default: the stack's region)."""
    stack = cdk.Stack.of(scope)
    return stack.format_arn(
        service="bedrock", account="", region=region, resource="foundation-model", resource_name=model_id
    )


def model_arns(scope: Construct, model: str) -> list[str]:
    """What bedrock:InvokeModel needs for a model id or a cross-region inference-profile id."""
    match = _PROFILE_PREFIX.match(model)
    if match is None:
        return [foundation_model_arn(scope, model)]
    stack = cdk.Stack.of(scope)
    base = model[match.end() :]
    profile = stack.format_arn(service="bedrock", resource="inference-profile", resource_name=model)
    # The profile routes to its geography's regions (any of them); global profiles use region "".
    arns = [profile, foundation_model_arn(scope, base, region="*")]
    if match.group(1) == "global":
        arns.append(foundation_model_arn(scope, base, region=""))
    return arns


def _sanitize(name: str) -> str:
    """Lower-case letters, digits and single hyphens, starting with a letter (vector bucket, AOSS rules)."""
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")
    return cleaned if cleaned[:1].isalpha() else f"kb-{cleaned}"

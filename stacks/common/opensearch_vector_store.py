"""`OpenSearchVectorStore`: an OpenSearch Serverless vector collection laid out for a Bedrock knowledge base.

The option for teams that need hybrid (keyword + vector) search. Unlike S3 Vectors it bills OpenSearch
Compute Units every hour the collection exists, idle or not (docs/knowledge.md has the figures).

Encryption, network and data-access policies are the collection's security model: the collection is
encrypted with the given customer-managed key, is not reachable from the public internet (only the
Bedrock service may reach it privately), and only the listed principals may read or write its data.
The vector index is the native `AWS::OpenSearchServerless::Index`, so no custom resource is needed.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

# Field names Bedrock uses when it creates such an index itself; kept so the console's defaults match.
VECTOR_FIELD = "bedrock-knowledge-base-default-vector"
TEXT_FIELD = "AMAZON_BEDROCK_TEXT_CHUNK"
METADATA_FIELD = "AMAZON_BEDROCK_METADATA"
INDEX_NAME = "bedrock-knowledge-base-default-index"

# Data-plane permissions Bedrock needs to create, read and write documents of its index.
_COLLECTION_PERMISSIONS = ["aoss:CreateCollectionItems", "aoss:DescribeCollectionItems", "aoss:UpdateCollectionItems"]
_INDEX_PERMISSIONS = [
    "aoss:CreateIndex",
    "aoss:DeleteIndex",
    "aoss:DescribeIndex",
    "aoss:ReadDocument",
    "aoss:UpdateIndex",
    "aoss:WriteDocument",
]


class OpenSearchVectorStore(Construct):
    """A VECTORSEARCH collection, its three policies and one k-NN index for Bedrock.

    :param collection_name: 3-32 lower-case letters, digits and hyphens (also names the policies).
    :param data_access_principal_arns: roles that read and write documents (the knowledge-base role).
    :param index_admin_arns: roles that create the index; default: the CDK CloudFormation execution
        role, because CloudFormation creates `AWS::OpenSearchServerless::Index` through the data plane.
    :param standby_replicas: False halves the minimum OCUs; use it outside production only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection_name: str,
        encryption_key: kms.IKey,
        dimensions: int,
        data_access_principal_arns: list[str],
        index_admin_arns: list[str] | None = None,
        standby_replicas: bool = True,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 3 <= len(collection_name) <= 32:
            raise ValueError(f"collection_name must be 3-32 characters, got '{collection_name}'")
        stack = cdk.Stack.of(self)
        admins = index_admin_arns if index_admin_arns is not None else [_cloudformation_execution_role(stack)]
        collection_rule = {"ResourceType": "collection", "Resource": [f"collection/{collection_name}"]}

        encryption = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=collection_name,
            type="encryption",
            description="Encrypt the knowledge-base collection with the kit's customer-managed key",
            policy=stack.to_json_string(
                {"Rules": [collection_rule], "AWSOwnedKey": False, "KmsARN": encryption_key.key_arn}
            ),
        )
        network = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=collection_name,
            type="network",
            description="No public access: only Amazon Bedrock reaches the collection, privately",
            policy=stack.to_json_string(
                [
                    {
                        "Rules": [
                            collection_rule,
                            {"ResourceType": "dashboard", "Resource": [f"collection/{collection_name}"]},
                        ],
                        "AllowFromPublic": False,
                        "SourceServices": ["bedrock.amazonaws.com"],
                    }
                ]
            ),
        )
        self.collection = aoss.CfnCollection(
            self,
            "Collection",
            name=collection_name,
            type="VECTORSEARCH",
            description="Vector store of a Bedrock knowledge base",
            standby_replicas="ENABLED" if standby_replicas else "DISABLED",
            deletion_protection="ENABLED" if removal_policy == cdk.RemovalPolicy.RETAIN else "DISABLED",
        )
        self.collection.apply_removal_policy(removal_policy)
        # A collection can only be created once an encryption policy covers its name.
        self.collection.node.add_dependency(encryption, network)

        access = aoss.CfnAccessPolicy(
            self,
            "DataAccessPolicy",
            name=collection_name,
            type="data",
            description="Knowledge-base role reads and writes; the deployment role manages the index",
            policy=stack.to_json_string(
                [
                    {
                        "Rules": [
                            {**collection_rule, "Permission": _COLLECTION_PERMISSIONS},
                            {
                                "ResourceType": "index",
                                "Resource": [f"index/{collection_name}/*"],
                                "Permission": _INDEX_PERMISSIONS,
                            },
                        ],
                        "Principal": [*data_access_principal_arns, *admins],
                    }
                ]
            ),
        )

        self.index = aoss.CfnIndex(
            self,
            "Index",
            collection_endpoint=self.collection.attr_collection_endpoint,
            index_name=INDEX_NAME,
            settings=aoss.CfnIndex.IndexSettingsProperty(
                index=aoss.CfnIndex.IndexProperty(knn=True, knn_algo_param_ef_search=512)
            ),
            mappings=aoss.CfnIndex.MappingsProperty(
                properties={
                    VECTOR_FIELD: aoss.CfnIndex.PropertyMappingProperty(
                        type="knn_vector",
                        dimension=dimensions,
                        method=aoss.CfnIndex.MethodProperty(
                            name="hnsw",
                            engine="faiss",
                            space_type="l2",
                            parameters=aoss.CfnIndex.ParametersProperty(ef_construction=512, m=16),
                        ),
                    ),
                    # Indexed text enables the keyword half of hybrid search.
                    TEXT_FIELD: aoss.CfnIndex.PropertyMappingProperty(type="text", index=True),
                    METADATA_FIELD: aoss.CfnIndex.PropertyMappingProperty(type="text", index=False),
                }
            ),
        )
        self.index.node.add_dependency(access, network)

    @property
    def collection_arn(self) -> str:
        return self.collection.attr_arn

    @property
    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="OPENSEARCH_SERVERLESS",
            opensearch_serverless_configuration=bedrock.CfnKnowledgeBase.OpenSearchServerlessConfigurationProperty(
                collection_arn=self.collection_arn,
                vector_index_name=self.index.index_name,
                field_mapping=bedrock.CfnKnowledgeBase.OpenSearchServerlessFieldMappingProperty(
                    vector_field=VECTOR_FIELD, text_field=TEXT_FIELD, metadata_field=METADATA_FIELD
                ),
            ),
        )

    def grant_data_access(self, grantee: iam.IGrantable) -> iam.Grant:
        """aoss:APIAccessAll on this collection; what the principal may do inside is the data-access policy."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["aoss:APIAccessAll"], resource_arns=[self.collection_arn]
        )


def _cloudformation_execution_role(stack: cdk.Stack) -> str:
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, cdk.DefaultStackSynthesizer):
        raise ValueError("pass index_admin_arns: the stack does not use the default CDK bootstrap roles")
    # The synthesizer returns ${AWS::AccountId}-style placeholders for environment-agnostic stacks.
    return cdk.Fn.sub(synthesizer.cloud_formation_execution_role_arn)

"""`KitDeadLetterQueue`: the one CMK-encrypted, TLS-only dead-letter queue of the kit's functions, rules and queues."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.common.nag import acknowledge_all

# Every finding a queue without a dead-letter queue of its own raises.
NO_FURTHER_DLQ_FINDINGS = ["AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"]
RETENTION = cdk.Duration.days(14)  # the SQS maximum: time to read and redrive what failed


class KitDeadLetterQueue(sqs.Queue):
    """A queue that keeps what its source could not deliver for 14 days, encrypted with ``key``, TLS only.

    It *is* the `sqs.Queue` (same construct path as a plain queue with this id, so the logical id is the id's),
    and acknowledges the findings of a queue without a DLQ of its own, saying whose dead-letter queue it is.

    :param dead_letters_of: what sends here, for the acknowledgment ("the dataset-ready rule").
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, dead_letters_of: str) -> None:
        super().__init__(
            scope,
            construct_id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        resource = self.node.default_child
        assert resource is not None
        acknowledge_all(
            resource,
            NO_FURTHER_DLQ_FINDINGS,
            f"This queue is itself the dead-letter queue of {dead_letters_of}; it has no further DLQ.",
        )

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """sqs:SendMessage on this queue and data keys through SQS, nothing else (CDK's `grant_send_messages`
        adds sqs:GetQueueAttributes, sqs:GetQueueUrl and `kms:GenerateDataKey*`)."""
        key = self.encryption_master_key
        assert key is not None  # always set: the queue is CMK-encrypted
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[self.queue_arn])
        return grant.combine(grant_key_use_via(key, grantee, "sqs", encrypt=True))

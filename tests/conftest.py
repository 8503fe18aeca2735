"""Suite-wide fixtures: offline AWS credentials. Sockets are blocked in pyproject's addopts."""

from __future__ import annotations

import os

# Fake, non-empty credentials and a region so boto3 never looks for real ones (IMDS, SSO, files).
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's placeholder, not a secret
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_METRICS_NAMESPACE": "JourneyKitTests",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)

"""Amazon Comprehend vocabularies shared by the data pipeline and the safety library's settings."""

from __future__ import annotations

from typing import Literal

# DetectPiiEntities entity types (botocore's PiiEntityType, without the "ALL" filter);
# tests/stacks/test_guardrails.py checks this list against the botocore model.
PiiEntityType = Literal[
    "BANK_ACCOUNT_NUMBER",
    "BANK_ROUTING",
    "CREDIT_DEBIT_NUMBER",
    "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY",
    "PIN",
    "EMAIL",
    "ADDRESS",
    "NAME",
    "PHONE",
    "SSN",
    "DATE_TIME",
    "PASSPORT_NUMBER",
    "DRIVER_ID",
    "URL",
    "AGE",
    "USERNAME",
    "PASSWORD",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "LICENSE_PLATE",
    "VEHICLE_IDENTIFICATION_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "IN_PERMANENT_ACCOUNT_NUMBER",
    "IN_NREGA",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "CA_HEALTH_NUMBER",
    "IN_AADHAAR",
    "IN_VOTER_NUMBER",
]

from common.clients import client


def test_client_is_created_once_per_service_and_region():
    assert client("s3", "eu-west-1") is client("s3", "eu-west-1")
    assert client("s3", "eu-west-1") is not client("sqs", "eu-west-1")

"""`assemble.Concatenation`: the redacted parts of a split object become one S3 object in order. Past a piece's
size it is a multipart upload of whole pieces (numbered from 1, ETags in order); smaller, one PutObject; empty,
nothing. Every request is checked by a botocore Stubber against S3's model and the parameters spelled out here."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pipeline.assemble import Concatenation
from pipeline.errors import Throttled

WHERE = {"Bucket": "curated", "Key": "runs/r-1/profiles.jsonl"}


@pytest.fixture
def stubbed():
    client = boto3.client("s3", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_pieces_past_the_size_go_up_as_numbered_parts_then_complete_in_order(stubbed):
    s3, stubber = stubbed
    stubber.add_response(
        "create_multipart_upload", {"UploadId": "u-1"}, {**WHERE, "ContentType": "application/x-ndjson"}
    )
    # 6 + 5 bytes reach the 10-byte piece: one part of both; 4 more wait; 7 reach it again; 3 are left for close.
    stubber.add_response(
        "upload_part", {"ETag": '"e1"'}, {**WHERE, "UploadId": "u-1", "PartNumber": 1, "Body": b"aaaaaabbbbb"}
    )
    stubber.add_response(
        "upload_part", {"ETag": '"e2"'}, {**WHERE, "UploadId": "u-1", "PartNumber": 2, "Body": b"ccccddddddd"}
    )
    stubber.add_response("upload_part", {"ETag": '"e3"'}, {**WHERE, "UploadId": "u-1", "PartNumber": 3, "Body": b"eee"})
    stubber.add_response(
        "complete_multipart_upload",
        {},
        {
            **WHERE,
            "UploadId": "u-1",
            "MultipartUpload": {
                "Parts": [
                    {"ETag": '"e1"', "PartNumber": 1},
                    {"ETag": '"e2"', "PartNumber": 2},
                    {"ETag": '"e3"', "PartNumber": 3},
                ]
            },
        },
    )
    out = Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=10)
    for body in (b"aaaaaa", b"bbbbb", b"cccc", b"ddddddd", b"eee"):
        out.add(body)
    out.close()


def test_exactly_one_piece_is_a_multipart_upload_of_one_part(stubbed):
    s3, stubber = stubbed
    stubber.add_response(
        "create_multipart_upload", {"UploadId": "u-2"}, {**WHERE, "ContentType": "application/x-ndjson"}
    )
    stubber.add_response(
        "upload_part", {"ETag": '"e1"'}, {**WHERE, "UploadId": "u-2", "PartNumber": 1, "Body": b"0123456789"}
    )
    stubber.add_response(
        "complete_multipart_upload",
        {},
        {**WHERE, "UploadId": "u-2", "MultipartUpload": {"Parts": [{"ETag": '"e1"', "PartNumber": 1}]}},
    )
    out = Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=10)
    out.add(b"0123456789")  # at the size exactly: sent, nothing left for close
    out.close()


def test_less_than_a_piece_is_one_put_and_nothing_is_no_request(stubbed):
    s3, stubber = stubbed
    stubber.add_response("put_object", {}, {**WHERE, "Body": b"abc", "ContentType": "application/x-ndjson"})
    small = Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=10)
    small.add(b"a")
    small.add(b"bc")
    small.close()
    Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=10).close()  # the stubber has nothing left


def test_a_throttled_part_is_the_error_step_functions_retries_and_others_pass_through(stubbed):
    s3, stubber = stubbed
    stubber.add_response(
        "create_multipart_upload", {"UploadId": "u-3"}, {**WHERE, "ContentType": "application/x-ndjson"}
    )
    stubber.add_client_error("upload_part", "SlowDown", "reduce your request rate")
    with pytest.raises(Throttled, match="UploadPart: reduce your request rate"):
        Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=1).add(b"x")
    stubber.add_client_error("put_object", "AccessDenied", "no")
    out = Concatenation(s3, WHERE["Bucket"], WHERE["Key"], piece_bytes=10)
    out.add(b"x")
    with pytest.raises(ClientError) as caught:
        out.close()
    assert not isinstance(caught.value, Throttled)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"

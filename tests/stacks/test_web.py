"""Web stack: the page bucket is private and read only by its distribution (origin access control), the headers
policy is strict, the API is same-origin through the distribution, the page's Cognito client calls back to the
distribution, `config.json` carries the deploy-time ids, and the feature switch follows the Api.

The session synth (customer-retention, both stages, env-agnostic) is what most tests read; cfn-lint, the IAM check,
tags and acknowledgments run over every template in tests/policy/.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.app_builder import cdk_json_context
from stacks.config import ConfigError, kit_config_from_context
from stacks.stage import JourneyStage
from stacks.usecase_files import load_usecase_files
from stacks.web.headers import content_security_policy
from stacks.web.login import domain_prefix
from stacks.web.page_config import CONFIG_FILE, page_config
from stacks.web.stack import PAGE_FOLDER
from tools.iam_check import FRAMEWORK_PROVIDERS

DEV = "journey-customer-retention-dev-Web"
PROD = "journey-customer-retention-prod-Web"
API = "journey-customer-retention-dev-Api"
FOUNDATION = "journey-customer-retention-dev-Foundation"
# The AWS managed CloudFront policies, by their documented ids (CloudFront Developer Guide, "Use managed ...").
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Stand-ins for the pseudo parameters, so rendered strings can be compared as text.
PSEUDO = {"AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1", "AWS::Partition": "aws", "AWS::URLSuffix": "x"}


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = _resources(template, resource_type).items()
    return found


def render(value: Any) -> str:
    """A CloudFormation value as text: pseudo parameters filled in, other references as <Ref:id> / <id.Attr> /
    <Output:stack:name>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return PSEUDO.get(value["Ref"], f"<Ref:{value['Ref']}>")
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        output = value["Fn::GetStackOutput"]
        return f"<Output:{output['StackName']}:{output['OutputName']}>"
    raise AssertionError(f"cannot render {value!r}")


@pytest.fixture(scope="module")
def dev(synth) -> dict[str, Any]:
    return synth.templates[DEV]


@pytest.fixture(scope="module")
def distribution(dev) -> tuple[str, dict[str, Any]]:
    lid, resource = _one(dev, "AWS::CloudFront::Distribution")
    return lid, resource["Properties"]["DistributionConfig"]


def _page_url(distribution_id: str) -> str:
    return f"https://<{distribution_id}.DomainName>/"


def _domain_ref_origin(template: dict[str, Any]) -> str:
    """The same origin built from a Ref to the domain resource (CloudFormation's Ref of a domain is its prefix)."""
    domain_id, _ = _one(template, "AWS::Cognito::UserPoolDomain")
    return f"https://<Ref:{domain_id}>.auth.{PSEUDO['AWS::Region']}.amazoncognito.com"


def _login_origin(template: dict[str, Any]) -> str:
    """The managed-login origin, from the domain resource's own prefix (as Cognito documents the URL)."""
    _, domain = _one(template, "AWS::Cognito::UserPoolDomain")
    return f"https://{render(domain['Properties']['Domain'])}.auth.{PSEUDO['AWS::Region']}.amazoncognito.com"


# ------------------------------------------------------------------------------------------ bucket and OAC


def test_the_bucket_is_private_encrypted_and_read_only_by_this_distribution(dev, distribution, synth):
    distribution_id, config = distribution
    bucket_id, bucket = _one(dev, "AWS::S3::Bucket")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert render(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).startswith(f"<Output:{FOUNDATION}:")
    assert "WebsiteConfiguration" not in props
    _, policy = _one(dev, "AWS::S3::BucketPolicy")
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    cloudfront = [s for s in allows if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]
    assert len(cloudfront) == 1
    (statement,) = cloudfront
    assert statement["Action"] == "s3:GetObject"
    assert render(statement["Resource"]) == f"<{bucket_id}.Arn>/*"
    assert statement["Condition"] == {
        "StringEquals": {
            "AWS:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":cloudfront::",
                        {"Ref": "AWS::AccountId"},
                        ":distribution/",
                        {"Ref": distribution_id},
                    ],
                ]
            }
        }
    }
    # Nobody but CloudFront and CDK's own providers is allowed by the bucket policy.
    others = [s for s in allows if s not in cloudfront]
    assert all(any(p in json.dumps(s["Principal"]) for p in FRAMEWORK_PROVIDERS) for s in others)
    (page_origin,) = [o for o in config["Origins"] if "S3OriginConfig" in o]
    oac_id, oac = _one(dev, "AWS::CloudFront::OriginAccessControl")
    assert page_origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert page_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert page_origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    oac_config = oac["Properties"]["OriginAccessControlConfig"]
    assert oac_config["OriginAccessControlOriginType"] == "s3"
    assert (oac_config["SigningBehavior"], oac_config["SigningProtocol"]) == ("always", "sigv4")
    # The Foundation key lets CloudFront decrypt (only) for this account's distributions.
    _, key = _one(synth.templates[FOUNDATION], "AWS::KMS::Key")
    (grant,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert grant["Action"] == "kms:Decrypt"
    assert render(grant["Condition"]["StringEquals"]["aws:SourceAccount"]) == PSEUDO["AWS::AccountId"]
    assert render(grant["Condition"]["ArnLike"]["aws:SourceArn"]) == "arn:aws:cloudfront::111122223333:distribution/*"


def test_the_page_is_https_only_with_index_html_as_root_and_a_price_class(distribution):
    _, config = distribution
    assert config["DefaultRootObject"] == "index.html"
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert config["PriceClass"] == "PriceClass_100"
    assert config["HttpVersion"] == "http2and3"
    assert "Logging" not in config  # acknowledged: the kit's log bucket has ACLs off (docs/web.md)


# ------------------------------------------------------------------------------------------ headers


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        assert name not in parsed, name
        parsed[name] = sources
    return parsed


def test_the_headers_policy_is_strict_and_on_every_behaviour(dev, distribution):
    _, config = distribution
    headers_id, policy = _one(dev, "AWS::CloudFront::ResponseHeadersPolicy")
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = _directives(render(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]))
    assert security["ContentSecurityPolicy"]["Override"] is True
    # Only the page's own origin (which also serves the API) and the Cognito managed-login origin.
    assert csp["connect-src"] == ["'self'", _login_origin(dev)]
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    for name, sources in csp.items():
        assert set(sources) <= {"'self'", "'none'", _login_origin(dev)}, name
        assert not any("unsafe" in s or "*" in s or s in ("data:", "http:", "https:") for s in sources), name
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert hsts["IncludeSubdomains"] is True
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {json.dumps(b["ResponseHeadersPolicyId"]) for b in behaviours} == {json.dumps({"Ref": headers_id})}


def test_content_security_policy_takes_only_https_origins():
    assert "connect-src 'self' https://a.example" in content_security_policy(["https://a.example"])
    with pytest.raises(ValueError, match="https"):
        content_security_policy(["http://a.example"])


# ------------------------------------------------------------------------------------------ the API, same-origin


def _api_paths(template: dict[str, Any]) -> set[str]:
    """Every path of the Api's REST API that has a method, from its resources' PathParts."""
    resources = _resources(template, "AWS::ApiGateway::Resource")

    def path(lid: str) -> str:
        props = resources[lid]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {
        path(m["Properties"]["ResourceId"]["Ref"])
        for m in _resources(template, "AWS::ApiGateway::Method").values()
        if "Ref" in m["Properties"]["ResourceId"] and m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def test_every_api_route_goes_to_the_rest_api_uncached_with_its_authorization(synth, distribution):
    _, config = distribution
    (api_origin,) = [o for o in config["Origins"] if "CustomOriginConfig" in o]
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api_origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert api_origin["CustomOriginConfig"]["OriginReadTimeout"] == 60
    rest_api_id, _ = _one(synth.templates[API], "AWS::ApiGateway::RestApi")
    domain = render(api_origin["DomainName"])
    assert re.fullmatch(rf"<Output:{API}:[A-Za-z0-9]*{rest_api_id}[A-Za-z0-9]*>\.execute-api\.eu-west-1\.x", domain)
    assert re.fullmatch(
        rf"/<Output:{API}:[A-Za-z0-9]*DeploymentStagedev[A-Za-z0-9]*>", render(api_origin["OriginPath"])
    )
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    paths = _api_paths(synth.templates[API])
    assert paths == {"/chat", "/chat/stream", "/feedback", "/events", "/sessions", "/sessions/{id}"}
    for path in paths:
        matching = [p for p in behaviours if fnmatch.fnmatchcase(path, p)]
        assert matching, path
    for pattern, behaviour in behaviours.items():
        assert behaviour["TargetOriginId"] == api_origin["Id"], pattern
        assert behaviour["CachePolicyId"] == CACHING_DISABLED, pattern
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER, pattern
        assert {"POST", "GET"} <= set(behaviour["AllowedMethods"]), pattern
        assert behaviour["ViewerProtocolPolicy"] == "https-only", pattern
        assert behaviour["Compress"] is False, pattern
    # The page itself, config.json included, is never sent to the API.
    for page_path in ("/", "/index.html", f"/{CONFIG_FILE}", "/js/app.js"):
        assert not [p for p in behaviours if fnmatch.fnmatchcase(page_path, p)], page_path


# ------------------------------------------------------------------------------------------ Cognito


def test_the_page_client_is_public_code_flow_calling_back_to_the_distribution(synth, dev, distribution):
    distribution_id, _ = distribution
    client_id, client = _one(dev, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert render(props["UserPoolId"]).startswith(f"<Output:{API}:")
    (api_pool,) = _resources(synth.templates[API], "AWS::Cognito::UserPool")
    assert api_pool in render(props["UserPoolId"])
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert "openid" in props["AllowedOAuthScopes"]
    assert [render(u) for u in props["CallbackURLs"]] == [_page_url(distribution_id)]
    assert [render(u) for u in props["LogoutURLs"]] == [_page_url(distribution_id)]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert "ALLOW_REFRESH_TOKEN_AUTH" not in props.get("ExplicitAuthFlows", [None])
    assert props["RefreshTokenRotation"]["Feature"] == "ENABLED"
    assert props["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"}
    assert (props["AccessTokenValidity"], props["IdTokenValidity"]) == (15, 15)
    assert props["RefreshTokenValidity"] <= 24 * 60
    assert props["EnableTokenRevocation"] is True
    _, domain = _one(dev, "AWS::Cognito::UserPoolDomain")
    assert domain["Properties"]["ManagedLoginVersion"] == 2
    assert domain["Properties"]["UserPoolId"] == props["UserPoolId"]
    assert render(domain["Properties"]["Domain"]) == "journey-customer-retention-dev-111122223333"
    _, branding = _one(dev, "AWS::Cognito::ManagedLoginBranding")
    assert branding["Properties"]["ClientId"] == {"Ref": client_id}
    assert branding["Properties"]["UseCognitoProvidedValues"] is True
    # The Api's authorizer names the pool, not a client: the page's ID tokens are accepted as the Api's own are.
    _, authorizer = _one(synth.templates[API], "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [api_pool, "Arn"]}]
    assert "ClientId" not in json.dumps(authorizer)


def test_the_domain_prefix_refuses_what_cognito_refuses():
    assert domain_prefix("journey-x-dev", "111122223333") == "journey-x-dev-111122223333"
    for word in ("aws", "amazon", "cognito"):
        with pytest.raises(ConfigError, match=f"may not contain '{word}'"):
            domain_prefix(f"team-{word}-dev", "111122223333")


# ------------------------------------------------------------------------------------------ config.json


def test_config_json_is_written_at_deploy_with_the_deploy_time_ids(synth, dev, distribution):
    distribution_id, _ = distribution
    _, deployment = _one(dev, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    assert props["Prune"] is True
    assert props["DistributionId"] == {"Ref": distribution_id}
    assert props["DistributionPaths"] == ["/*"]
    assert props["DestinationBucketName"] == {"Ref": _one(dev, "AWS::S3::Bucket")[0]}
    page_key, config_key = props["SourceObjectKeys"]
    folder = synth.outdir / f"asset.{config_key.removesuffix('.zip')}"
    text = (folder / CONFIG_FILE).read_text()
    markers = props["SourceMarkers"][1]
    for marker, value in markers.items():
        text = text.replace(marker, render(value))
    config = json.loads(text)
    client_id, _ = _one(dev, "AWS::Cognito::UserPoolClient")
    site = f"https://<{distribution_id}.DomainName>"
    assert config == {
        "apiUrl": site,
        "region": "eu-west-1",
        "userPoolId": config["userPoolId"],
        "clientId": f"<Ref:{client_id}>",
        "cognitoDomain": _domain_ref_origin(dev),
        "redirectUri": f"{site}/",
        "architectures": ["rag", "direct", "agent", "multi-task"],
        "tasks": ["answer", "classify", "summarize"],
        "local": False,
    }
    (api_pool,) = _resources(synth.templates[API], "AWS::Cognito::UserPool")
    assert config["userPoolId"].startswith(f"<Output:{API}:")
    assert api_pool in config["userPoolId"]
    # The page's own folder is uploaded without any local config.json.
    page = synth.outdir / f"asset.{page_key.removesuffix('.zip')}"
    assert page.is_dir()
    assert not (page / CONFIG_FILE).exists()


def test_page_config_is_the_pages_contract():
    config = page_config(
        site_url="https://d1.cloudfront.net",
        region="eu-west-1",
        user_pool_id="eu-west-1_abc",
        client_id="client",
        cognito_domain="https://p.auth.eu-west-1.amazoncognito.com",
        architectures=("rag", "direct"),
        tasks=(),
    )
    assert config == {
        "apiUrl": "https://d1.cloudfront.net",
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_abc",
        "clientId": "client",
        "cognitoDomain": "https://p.auth.eu-west-1.amazoncognito.com",
        "redirectUri": "https://d1.cloudfront.net/",
        "architectures": ["rag", "direct"],
        "tasks": [],
        "local": False,
    }


# ------------------------------------------------------------------------------------------ IAM and outputs


def test_the_only_roles_are_cdk_framework_providers_listed_for_the_iam_check(dev):
    roles = _resources(dev, "AWS::IAM::Role")
    assert roles
    assert all(lid.startswith(FRAMEWORK_PROVIDERS) for lid in roles), sorted(roles)
    assert any(lid.startswith("CustomCDKBucketDeployment") for lid in roles)


def test_outputs_name_the_page_and_its_login(dev, distribution):
    distribution_id, _ = distribution
    outputs = dev["Outputs"]
    assert render(outputs["PageUrl"]["Value"]) == _page_url(distribution_id)
    assert outputs["DistributionId"]["Value"] == {"Ref": distribution_id}
    assert render(outputs["CognitoDomain"]["Value"]) == _domain_ref_origin(dev)


# ------------------------------------------------------------------------------------------ the feature switch


def _stage(context: dict[str, Any]) -> JourneyStage:
    app = cdk.App(context=cdk_json_context(**context))
    config = kit_config_from_context(cdk_json_context(**context))
    files = load_usecase_files(config.usecase)
    return JourneyStage(app, config=config, files=files, stage="dev", environment=config.environments["dev"])


def test_the_switch_removes_the_stack_and_follows_the_api(synth):
    assert DEV in synth.templates  # on by default
    assert PROD in synth.templates
    off = _stage({"features.web": False})
    assert off.web is None
    assert off.api is not None
    assert off.node.try_find_child("Web") is None
    without_api = _stage({"features.api": False})  # unset, web follows api: no error, no stack
    assert without_api.web is None
    assert without_api.node.try_find_child("Web") is None


@pytest.mark.parametrize("value", ["maybe", "2", None])
def test_a_bad_api_switch_is_one_error_on_it_not_a_second_on_web(value):
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(**{"features.api": value}))
    assert [problem[1] for problem in raised.value.problems] == ["features.api"]


def test_the_stack_needs_the_api():
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(**{"features.web": True, "features.api": False}))
    assert raised.value.field == "features"
    assert "web needs api" in str(raised.value)


def test_the_page_folder_is_the_repos_web_folder():
    assert Path(__file__).resolve().parents[2] / "web" == PAGE_FOLDER


def test_docs_show_the_csp_the_stack_sets():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    (row,) = [line for line in docs.splitlines() if line.startswith("| `Content-Security-Policy` |")]
    shown = row.split("|")[2].strip().strip("`")
    assert shown == content_security_policy(["https://cognito.example"]).replace(
        "https://cognito.example", "<cognito domain>"
    )


def test_pinned_environments_synthesize_nag_clean_with_literal_origins(pinned_synth):
    """The pinned synth (us-east-1 and eu-west-1, literal ARNs) fails on any unacknowledged finding; the provider's
    IAM5 ids there name the literal bootstrap bucket, computed at validation time."""
    webs = {name: t for name, t in pinned_synth.templates.items() if name.endswith("-Web")}
    assert sorted(webs) == ["journey-it-helpdesk-dev-Web", "journey-it-helpdesk-prod-Web"]
    for name, region in (("journey-it-helpdesk-dev-Web", "us-east-1"), ("journey-it-helpdesk-prod-Web", "eu-west-1")):
        _, policy = _one(webs[name], "AWS::CloudFront::ResponseHeadersPolicy")
        csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
        stage = name.split("-")[-2]
        origin = f"https://journey-it-helpdesk-{stage}-111122223333.auth.{region}.amazoncognito.com"
        assert _directives(csp["ContentSecurityPolicy"])["connect-src"] == ["'self'", origin]

"""Web stack: the chat page (web/) on CloudFront, same-origin with the Api.

- The page's files live in a kit `SecureBucket` (the Foundation CMK, TLS only, private, access-logged) that only
  this distribution reads, through origin access control: the bucket policy names the distribution's ARN, and the
  key policy lets CloudFront decrypt for this account's distributions (the exact ARN would make a cycle).
- The Api's REST API is a second origin of the same distribution (its regional execute-api domain, the stage as
  origin path) for the API routes, uncached, with every viewer header but Host passed on, so the Authorization
  header reaches the Cognito authorizer and server-sent events stream through. The page and the API share one
  origin: no CORS, and the Api's `cors_origins` need no deploy-time domain (docs/web.md has the trade-offs).
- Security headers on every response (headers.py), HTTPS only, HTTP/2 and 3, a price class.
- Cognito managed login with the page's own client (login.py); `config.json` (page_config.py) written beside
  index.html at deploy with the deploy-time ids, and the distribution invalidated on every deploy.

Nothing bills idle but stored bytes: CloudFront, the deployment function and Cognito bill per use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from stacks.common.buckets import SecureBucket
from stacks.common.kms_key import add_key_policy_statement
from stacks.common.nag import acknowledge_all
from stacks.common.stage_policy import StagePolicy
from stacks.web.headers import page_headers_policy
from stacks.web.login import PageLogin, domain_prefix, managed_login_origin
from stacks.web.page_config import CONFIG_FILE, page_config
from stacks.web.provider import acknowledge_deployment_provider

PAGE_FOLDER = Path(__file__).resolve().parents[2] / "web"
CLOUDFRONT = "cloudfront.amazonaws.com"
# The Api's routes (stacks/api/stack.py `_rest_api`), each a cache behaviour to the API origin.
API_PATHS = ("/chat", "/chat/*", "/feedback", "/events", "/sessions", "/sessions/*")
# How long CloudFront waits for the next bytes from the API: the most it allows without a quota increase. A streamed
# answer keeps sending; an agent that thinks longer before its first token needs the quota raised (docs/web.md).
API_READ_TIMEOUT = cdk.Duration.seconds(60)


@dataclass(frozen=True)
class WebProps:
    """What the Web stack uses from elsewhere: the Foundation's key and access logs, the Api's user pool and stage."""

    name_prefix: str  # "<prefix>-<stage>"
    stage: StagePolicy
    key: kms.IKey  # encrypts the page bucket and the deployment function's logs
    access_logs: s3.IBucket  # S3 server access logs of the page bucket
    user_pool: cognito.IUserPool  # the Api's: the page gets its own client and the pool's managed-login domain
    api_stage: apigw.IStage  # the Api's REST API stage, served under API_PATHS of the distribution
    architectures: Sequence[str]  # what a chat request may name (the Api's offered architectures, default first)
    tasks: Sequence[str] = ()  # the Prompts stack's tasks (multi-task)
    price_class: cloudfront.PriceClass = cloudfront.PriceClass.PRICE_CLASS_100
    page_folder: Path = PAGE_FOLDER
    # A custom domain (its ACM certificate must be in us-east-1) also lets the viewer TLS policy be TLS 1.2 (2021);
    # the default *.cloudfront.net certificate accepts what CloudFront's default policy does.
    domain_name: str | None = None
    certificate: acm.ICertificate | None = None


class WebStack(cdk.Stack):
    """Exposes `site` (`SecureBucket`), `distribution`, `headers` (`ResponseHeadersPolicy`), `login` (`PageLogin`),
    `deployment` (`BucketDeployment`), `page_url` and `config` (the `config.json` mapping, with tokens).
    Outputs: PageUrl, DistributionId, CognitoDomain, PageClientId."""

    def __init__(self, scope: Construct, construct_id: str, *, props: WebProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        if (props.domain_name is None) != (props.certificate is None):
            raise ValueError("WebProps: domain_name and certificate go together")
        self._props = props
        self.site = SecureBucket(self, "Site", key=props.key, access_logs=props.access_logs, stage=props.stage)
        self.access_control = cloudfront.S3OriginAccessControl(
            self, "OriginAccessControl", description=f"{props.name_prefix}: the chat page's bucket"
        )
        prefix = domain_prefix(props.name_prefix, self.account)
        self.headers = page_headers_policy(
            self,
            "Headers",
            name=f"{props.name_prefix}-chat-page",
            connect_origins=[managed_login_origin(prefix, self.region)],
        )
        self.distribution = self._distribution()
        self._allow_distribution()
        site_url = f"https://{props.domain_name or self.distribution.distribution_domain_name}"
        self.page_url = f"{site_url}/"
        self.login = PageLogin(
            self,
            "Login",
            user_pool=props.user_pool,
            name_prefix=props.name_prefix,
            prefix=prefix,
            page_url=self.page_url,
        )
        self.config = page_config(
            site_url=site_url,
            region=self.region,
            user_pool_id=props.user_pool.user_pool_id,
            client_id=self.login.client.user_pool_client_id,
            cognito_domain=self.login.origin,
            architectures=props.architectures,
            tasks=props.tasks,
        )
        self.deployment = self._deploy_page()
        cdk.CfnOutput(self, "PageUrl", value=self.page_url, description="Open the chat page here")
        cdk.CfnOutput(self, "DistributionId", value=self.distribution.distribution_id, description="CloudFront")
        cdk.CfnOutput(self, "CognitoDomain", value=self.login.origin, description="Managed login of the chat page")
        cdk.CfnOutput(
            self,
            "PageClientId",
            value=self.login.client.user_pool_client_id,
            description="The chat page's app client (authorization code + PKCE, no secret)",
        )

    # ------------------------------------------------------------------ distribution

    def _distribution(self) -> cloudfront.Distribution:
        props = self._props
        page = origins.S3BucketOrigin.with_bucket_defaults(
            self.site.bucket, origin_access_control_id=self.access_control.origin_access_control_id
        )
        api = origins.HttpOrigin(
            f"{props.api_stage.rest_api.rest_api_id}.execute-api.{self.region}.{self.url_suffix}",
            origin_path=f"/{props.api_stage.stage_name}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=API_READ_TIMEOUT,
        )
        to_api = cloudfront.BehaviorOptions(
            origin=api,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            # Every answer is per user: nothing is cached, so the Authorization header may pass with the rest.
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self.headers,
            compress=False,  # server-sent events go out as they come
        )
        domain_names = [props.domain_name] if props.domain_name is not None else None
        custom = domain_names is not None
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{props.name_prefix}: chat page and API",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=page,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            additional_behaviors=dict.fromkeys(API_PATHS, to_api),
            price_class=props.price_class,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            domain_names=domain_names,
            certificate=props.certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if custom else None,
        )
        self._acknowledge_distribution(distribution, custom=custom)
        return distribution

    def _allow_distribution(self) -> None:
        """The bucket policy lets exactly this distribution read objects; the key policy lets CloudFront decrypt for
        this account's distributions (the exact ARN there would make the key depend on the distribution that
        depends on the bucket that depends on the key). Only a distribution a bucket policy names can read: the
        kit's other buckets name none."""
        distribution_arn = self.format_arn(
            service="cloudfront",
            region="",
            resource="distribution",
            resource_name=self.distribution.distribution_id,
        )
        self.site.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadsThePage",
                principals=[iam.ServicePrincipal(CLOUDFRONT)],
                actions=["s3:GetObject"],
                resources=[self.site.arn_for()],
                conditions={"StringEquals": {"AWS:SourceArn": distribution_arn}},
            )
        )
        any_distribution = self.format_arn(service="cloudfront", region="", resource="distribution", resource_name="*")
        add_key_policy_statement(
            self,
            self._props.key,
            iam.PolicyStatement(
                sid=f"CloudFrontDecryptsPageOf{self._props.name_prefix.replace('-', '')}"[:128],
                principals=[iam.ServicePrincipal(CLOUDFRONT)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": any_distribution},
                },
            ),
            consequence="CloudFront cannot read the chat page's encrypted objects (403 on every page)",
        )

    def _acknowledge_distribution(self, distribution: cloudfront.Distribution, *, custom: bool) -> None:
        resource = distribution.node.default_child
        assert resource is not None
        acknowledge_all(
            resource,
            ["AwsSolutions::AwsSolutions-CFR1"],
            "The chat page is for the use case's signed-in users wherever they are; geo restriction is a per-"
            "deployment choice (Distribution geo_restriction), and every API call needs a Cognito token.",
        )
        acknowledge_all(
            resource,
            ["AwsSolutions::AwsSolutions-CFR2"],
            "The API routes reach the REST API, whose regional WAF web ACL (Api stack) inspects every call; the "
            "rest is static files. A CLOUDFRONT-scope web ACL can only be created in us-east-1, and bills monthly.",
        )
        acknowledge_all(
            resource,
            ["AwsSolutions::AwsSolutions-CFR3"],
            "Standard logging (legacy) writes through S3 ACLs, which the kit's access-log bucket disables (bucket "
            "owner enforced); v2 log deliveries for CloudFront are made in us-east-1 only. API calls are logged by "
            "the Api stage's access log (request id, user sub) and WAF logs; the page bucket has S3 access logs.",
        )
        if not custom:
            acknowledge_all(
                resource,
                ["AwsSolutions::AwsSolutions-CFR4"],
                "The default *.cloudfront.net certificate cannot carry a minimum TLS policy; with WebProps "
                "domain_name and certificate the distribution requires TLS 1.2 (2021).",
            )

    # ------------------------------------------------------------------ page deployment

    def _deploy_page(self) -> s3deploy.BucketDeployment:
        """web/ and config.json into the bucket, stale files removed, the distribution invalidated, on every deploy."""
        props = self._props
        log_group = logs.LogGroup(
            self,
            "DeploymentLogs",
            encryption_key=props.key,
            retention=props.stage.log_retention,
            removal_policy=props.stage.removal_policy,
        )
        deployment = s3deploy.BucketDeployment(
            self,
            "DeployPage",
            destination_bucket=self.site.bucket,
            sources=[
                s3deploy.Source.asset(str(props.page_folder), exclude=[CONFIG_FILE]),
                s3deploy.Source.json_data(CONFIG_FILE, self.config),
            ],
            prune=True,  # the bucket holds the page only: a file gone from web/ goes from the site
            retain_on_delete=False,
            cache_control=[s3deploy.CacheControl.no_cache()],  # browsers revalidate: a deploy shows at once
            distribution=self.distribution,
            distribution_paths=["/*"],
            log_group=log_group,
        )
        acknowledge_deployment_provider(self)
        return deployment

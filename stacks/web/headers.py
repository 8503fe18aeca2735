"""The chat page's response headers: a strict Content-Security-Policy and the usual hardening headers.

The page and the API share one origin (the distribution), so the CSP needs only `'self'` and the Cognito
managed-login origin (the page exchanges and refreshes tokens at its `/oauth2/token` endpoint). No inline script or
style, no plugins, no framing, no `<base>` rewriting, forms post only to the page itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

SELF = "'self'"
NONE = "'none'"
HSTS_MAX_AGE = cdk.Duration.days(730)  # two years, the value HSTS preload lists ask for
# Powerful browser features the page never uses, switched off for it and anything it might embed.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def content_security_policy(connect_origins: Sequence[str]) -> str:
    """The page's CSP: everything from the page's own origin, fetches also to ``connect_origins`` (https origins)."""
    for origin in connect_origins:
        if not cdk.Token.is_unresolved(origin) and not origin.startswith("https://"):
            raise ValueError(f"connect origin {origin!r} must be an https origin")
    directives = {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "manifest-src": [SELF],
        "connect-src": [SELF, *connect_origins],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def page_headers_policy(
    scope: Construct, construct_id: str, *, name: str, connect_origins: Sequence[str]
) -> cloudfront.ResponseHeadersPolicy:
    """One policy for the page and the API routes: each header overrides whatever the origin sent."""
    return cloudfront.ResponseHeadersPolicy(
        scope,
        construct_id,
        response_headers_policy_name=name,
        comment="Chat page: strict CSP, HSTS, nosniff, no framing, no referrer",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy(connect_origins), override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
            # "0": the legacy XSS auditor is off, as current browser guidance says; the CSP does that job.
            xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=False, override=True),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                cloudfront.ResponseCustomHeader(header="Permissions-Policy", value=PERMISSIONS_POLICY, override=True),
                cloudfront.ResponseCustomHeader(
                    header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                ),
            ]
        ),
    )

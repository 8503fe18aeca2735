"""`PageLogin`: Cognito managed login for the chat page, on the Api's user pool.

The Api stack's own client signs in with SRP and has no OAuth flows; its callback URLs would have to name the
distribution, which the Web stack creates after the Api (a cycle). So the page gets its own public client here, on
the same pool: the Api's Cognito authorizer names only the pool, and accepts ID tokens of any of its clients.

- A Cognito domain (`<prefix>-<account>`: domain prefixes are global per region, the account keeps them apart)
  with the newer managed login and Cognito's default branding for the page's client.
- An app client without a secret (a browser cannot keep one), authorization code grant only, scopes openid and
  email, callback and logout URL the distribution's root page. Cognito cannot require PKCE; the page always sends an
  S256 challenge (docs/web.md).
- Short-lived tokens (15 minutes) that the page refreshes, refresh tokens that rotate on every use, and revocation.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from stacks.config import ConfigError

TOKEN_VALIDITY = cdk.Duration.minutes(15)
REFRESH_TOKEN_VALIDITY = cdk.Duration.hours(12)  # a working day; the page keeps tokens in memory only
# How long a rotated-out refresh token still works, so a retried refresh after a network error succeeds.
REFRESH_RETRY_GRACE = cdk.Duration.seconds(10)
# Cognito refuses domain prefixes containing these words.
RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")


def domain_prefix(name_prefix: str, account: str) -> str:
    """The Cognito domain prefix `<name_prefix>-<account>`; a `ConfigError` when Cognito would refuse it."""
    reserved = [word for word in RESERVED_DOMAIN_WORDS if word in name_prefix]
    if reserved:
        raise ConfigError(
            "cdk.json",
            "prefix",
            f"the chat page's Cognito domain '{name_prefix}-<account>' may not contain '{reserved[0]}': "
            "set a `prefix` without aws, amazon or cognito",
        )
    return f"{name_prefix}-{account}"


def managed_login_origin(prefix: str, region: str) -> str:
    """The managed-login origin of a Cognito domain prefix, as `UserPoolDomain.base_url()` renders it; known before
    the domain exists, so the page's CSP does not wait for it."""
    return f"https://{prefix}.auth.{region}.amazoncognito.com"


class PageLogin(Construct):
    """Exposes `domain` (`UserPoolDomain`), `client` (`UserPoolClient`) and `branding` (`CfnManagedLoginBranding`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool: cognito.IUserPool,
        name_prefix: str,
        prefix: str,
        page_url: str,
    ) -> None:
        """``prefix`` is the domain prefix (`domain_prefix`), ``page_url`` the page's https URL with its slash."""
        super().__init__(scope, construct_id)
        self.domain = cognito.UserPoolDomain(
            self,
            "Domain",
            user_pool=user_pool,
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        self.client = cognito.UserPoolClient(
            self,
            "Client",
            user_pool=user_pool,
            user_pool_client_name=f"{name_prefix}-chat-web",
            generate_secret=False,
            # Named so Cognito's defaults (custom auth, REFRESH_TOKEN_AUTH) are not implied: the page signs in through
            # managed login and refreshes at the token endpoint; with rotation on, CDK leaves REFRESH_TOKEN_AUTH out.
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[page_url],
                logout_urls=[page_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=TOKEN_VALIDITY,
            id_token_validity=TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            refresh_token_rotation_grace_period=REFRESH_RETRY_GRACE,
            enable_token_revocation=True,
        )
        # The newer managed login shows a page only for a client with a style; Cognito's defaults are enough.
        self.branding = cognito.CfnManagedLoginBranding(
            self,
            "Branding",
            user_pool_id=user_pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
        self.branding.node.add_dependency(self.domain)

    @property
    def origin(self) -> str:
        """The managed-login origin, `https://<prefix>.auth.<region>.amazoncognito.com`."""
        return self.domain.base_url()

"""`ChatUsers`: the Cognito user pool of the chat API, its groups and the chat page's app client.

- Sign-in by email; self sign-up off unless api.yaml says so (admins create users: docs/api.md).
- MFA (TOTP) required in prod, optional in dev; a strong password policy; recovery by email only.
- Groups `users` and `admins` (quotas per group: lambdas/api/contract.py).
- An app client without a secret (a browser cannot keep one) using SRP, so the password never leaves the page.

Nothing bills idle: Cognito's Essentials tier charges per monthly active user.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from stacks.api.settings import GROUPS
from stacks.common.nag import acknowledge_all
from stacks.common.stage_policy import StagePolicy


class ChatUsers(Construct):
    """Exposes `user_pool`, `client` and `groups` (name -> `CfnUserPoolGroup`)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name_prefix: str, stage: StagePolicy, self_sign_up: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{name_prefix}-users",
            self_sign_up_enabled=self_sign_up,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED if stage.is_prod else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=stage.deletion_protection,
            removal_policy=stage.removal_policy,
        )
        self.groups = {
            name: cognito.CfnUserPoolGroup(
                self,
                f"{name.capitalize()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                description=f"Chat API callers with the `{name}` quota (usecases/<id>/api.yaml)",
            )
            for name in GROUPS
        }
        self.client = self.user_pool.add_client(
            "ChatPageClient",
            user_pool_client_name=f"{name_prefix}-chat-page",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(1 if stage.is_prod else 7),
            enable_token_revocation=True,
        )
        pool = self.user_pool.node.default_child
        assert pool is not None
        acknowledge_all(
            pool,
            ["AwsSolutions::AwsSolutions-COG3", "AwsSolutions::AwsSolutions-COG8"],
            "Threat protection (advanced security) needs the Plus feature plan, billed per monthly active user; "
            "the pool requires MFA in prod, a 12-character password policy, and the API sits behind WAF.",
        )
        if not stage.is_prod:
            acknowledge_all(
                pool,
                ["AwsSolutions::AwsSolutions-COG2"],
                "Dev keeps MFA optional so developers can try the chat page quickly; prod requires TOTP MFA "
                "(tests/stacks/test_api.py checks both stages).",
            )

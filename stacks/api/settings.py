"""`ApiFileSettings`: usecases/<id>/api.yaml, how the use case's chat API is offered.

Quotas per Cognito group, the longest prompt, the conversation window, CORS origins, the WAF rate limit, the
stage's throttling and the architectures a request may ask for besides usecase.yaml's `architecture`. The file
is optional: without it the defaults below apply. Every problem is one line naming the file, the field and the
reason, and all of a file's problems are reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from stacks.config import USECASES_DIR, ConfigError, StrictModel, display_path, read_yaml_mapping, validation_error
from stacks.config.base import worded

API_FILE = "api.yaml"

# The architectures of lambdas/api/contract.py (usecase.yaml calls multi-task `multi`).
ApiArchitecture = Literal["direct", "rag", "agent", "multi-task"]
USECASE_ARCHITECTURES: dict[str, ApiArchitecture] = {
    "direct": "direct",
    "rag": "rag",
    "agent": "agent",
    "multi": "multi-task",
}
# The user pool's groups; `default` is the quota of a signed-in user in neither group (lambdas/api/contract.py).
GROUPS = ("users", "admins")
QuotaGroup = Literal["users", "admins", "default"]
# The longest prompt the WAF body rule can let through: 4 bytes of UTF-8 per character plus the request's other
# fields must stay within the largest body WAF inspects for API Gateway (64 KB).
MAX_PROMPT_CHARS = 16_000

ORIGIN_PATTERN = worded(
    r"^(https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?)$",
    "must be an https origin such as `https://chat.example.com` (no path, no wildcard), or http://localhost[:port]",
)
TASK_PATTERN = worded(
    r"^[a-z](?:_?[a-z0-9])*$", "must be lowercase letters, digits and single underscores, starting with a letter"
)
Origin = Annotated[str, Field(pattern=ORIGIN_PATTERN, max_length=253)]


class Quota(StrictModel):
    """What one caller of a group may use; a caller in several groups gets the largest of each."""

    tokens_per_day: int = Field(ge=1, le=1_000_000_000, description="Model tokens (in + out) per UTC day.")
    requests_per_minute: int = Field(ge=1, le=10_000, description="Chat requests per minute.")


def _default_quotas() -> dict[QuotaGroup, Quota]:
    return {
        "users": Quota(tokens_per_day=100_000, requests_per_minute=10),
        "admins": Quota(tokens_per_day=1_000_000, requests_per_minute=60),
    }


class Throttling(StrictModel):
    """API Gateway stage throttling (every method, all callers together)."""

    rate_limit: float = Field(20, gt=0, le=10_000, description="Steady requests per second.")
    burst_limit: int = Field(40, ge=1, le=5_000, description="Requests allowed in a burst.")


# The rules of AWS's core rule set that read the request body, where a prompt lives. A question that quotes HTML, a
# file path or an instance-metadata URL (an IT helpdesk's daily bread) matches them and is refused with 403 before the
# app sees it; `count_body_rules` lets a use case count such a rule instead (the app's safety chain still runs).
CommonBodyRule = Literal["CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"]


class Firewall(StrictModel):
    """The WAF web ACL's own rule, and which body rules of the AWS core rule set only count."""

    rate_limit: int = Field(
        300,
        ge=10,
        le=2_000_000_000,
        description="Requests one IP address may send in any 5 minutes before WAF blocks it.",
    )
    count_body_rules: list[CommonBodyRule] = Field(
        default_factory=list,
        description="Rules of the AWS core rule set that inspect the body and only count instead of blocking, for "
        "use cases whose prompts quote HTML, file paths or URLs (default: none, every rule blocks).",
    )


class ApiFileSettings(StrictModel):
    """usecases/<id>/api.yaml; every field is optional."""

    per_request: list[ApiArchitecture] = Field(
        default_factory=list,
        description="Architectures a request may ask for besides usecase.yaml `architecture` (each needs its stack: "
        "rag the Knowledge stack, agent the Agent stack, multi-task the Prompts stack).",
    )
    quotas: dict[QuotaGroup, Quota] = Field(
        default_factory=_default_quotas,
        min_length=1,
        description="Per Cognito group (users, admins; `default`: signed-in users in neither group).",
    )
    max_prompt_chars: int = Field(
        4000,
        ge=1,
        le=MAX_PROMPT_CHARS,
        description="Longest chat message in characters: the request model, the WAF body-size rule and the app "
        "enforce it.",
    )
    history_tokens: int = Field(2000, ge=0, le=200_000, description="Conversation window sent to the model (tokens).")
    conversation_days: int = Field(30, ge=1, le=3650, description="Days a conversation is kept (DynamoDB TTL).")
    retrieve_results: int = Field(5, ge=1, le=100, description="Passages a rag answer retrieves.")
    default_task: str | None = Field(
        None, pattern=TASK_PATTERN, max_length=31, description="prompts.yaml task used when a request names none."
    )
    agent_trace: bool = Field(False, description="Ask the agent for its trace (logged, never sent to the caller).")
    cors_origins: list[Origin] = Field(
        default_factory=lambda: ["http://localhost:8000"],
        min_length=1,
        max_length=10,
        description="Browser origins allowed to call the API (the chat page's; locally it is on localhost:8000).",
    )
    self_sign_up: bool = Field(False, description="Let people create their own account (off: admins create users).")
    throttling: Throttling = Field(default_factory=Throttling, description="API Gateway stage throttling.")
    waf: Firewall = Field(
        default_factory=Firewall, description="The web ACL's rate-based rule and body-rule overrides."
    )

    def problems(self, source: str) -> list[tuple[str, str, str]]:
        """(file, field, reason) for settings that are each valid but do not fit together."""
        problems = []
        if self.throttling.burst_limit < self.throttling.rate_limit:
            problems.append(
                (
                    source,
                    "throttling.burst_limit",
                    "must be at least throttling.rate_limit (a burst below the steady rate throttles steady traffic)",
                )
            )
        if len(set(self.cors_origins)) != len(self.cors_origins):
            problems.append((source, "cors_origins", "lists an origin twice"))
        if len(set(self.waf.count_body_rules)) != len(self.waf.count_body_rules):
            problems.append((source, "waf.count_body_rules", "lists a rule twice"))
        if len(set(self.per_request)) != len(self.per_request):
            problems.append((source, "per_request", "lists an architecture twice"))
        return problems


def load_api_settings(usecase_id: str, root: Path = USECASES_DIR) -> ApiFileSettings:
    """Read and validate usecases/<id>/api.yaml; the defaults when the use case has none."""
    path = root / usecase_id / API_FILE
    if not path.is_file():
        return ApiFileSettings()
    return parse_api_settings(read_yaml_mapping(path), source=display_path(path, root), document=path)


def parse_api_settings(raw: dict[str, object], *, source: str, document: Path | None = None) -> ApiFileSettings:
    """Validate the mapping of an api.yaml; every problem is one `ConfigError` line."""
    try:
        settings = ApiFileSettings.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=ApiFileSettings, document=document) from None
    problems = settings.problems(source)
    if problems:
        raise ConfigError.of(problems)
    return settings

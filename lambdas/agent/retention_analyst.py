"""The Retention analyst's action group: Powertools' BedrockAgentResolver with typed routes.

Routes (the OpenAPI 3.0 schema the agent gets is generated from them: schemas/retention_analyst.openapi.json,
written by `python -m tools.agent_schemas`):

- GET  /customers/{customer_id}                    get_customer_profile
- GET  /customers/{customer_id}/interactions       list_customer_interactions (limit 1-50)
- GET  /customers/{customer_id}/offers/ranked      rank_retention_offers (top 1-10; agent/ranking.py)
- POST /customers/{customer_id}/offers             create_offer (x-requireConfirmation: the agent asks the
  user first; idempotent on customer and service)

Every parameter is validated by the resolver (types, ranges, patterns) and by the routes (the customer exists,
the service is one the model knows); every failure is a stable code in the agent's response format
(agent/errors.py). Every successful result passes `screen_results` (agent/screening.py) before the model sees it.
"""

# No `from __future__ import annotations`: the resolver reads the routes' annotations at run time.
import hashlib
import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import BedrockAgentResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from common.aws_errors import error_code
from common.clients import client
from common.observability import powertools, powertools_metrics
from common.settings_file import SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV, deployed_settings
from pydantic import BaseModel, ConfigDict, Field

from agent import errors, store
from agent.contract import ToolSettings
from agent.errors import ToolError
from agent.ranking import RankingModel, customer_features, describe, rank
from agent.screening import TRIMMED_METRIC, WITHHELD_METRIC, Finding, screen_tool_result, withheld_message

logger, tracer = powertools()
metrics = powertools_metrics()

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SERVICE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
ASSET_ROOT = FilePath(__file__).resolve().parent.parent  # lambdas/, the code asset's root
IDEMPOTENCY_SECONDS = 24 * 3600
MODEL_NOTE = (
    "Association learnt from historical customers with a logistic regression, not a causal estimate: "
    "use it to choose what to offer first, and say so to the user."
)

CustomerId = Annotated[
    str, Path(pattern=CUSTOMER_ID_PATTERN, description="The customer's id, as in the CRM (for example C00042).")
]


# ------------------------------------------------------------------------------------------ response models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerProfile(_Model):
    customer_id: str
    plan: str | None = Field(None, description="basic, plus or premium")
    tenure_months: int | None = None
    region: str | None = None
    age_band: str | None = None
    retained: bool | None = Field(None, description="Whether the customer stayed, as last recorded.")


class Interaction(_Model):
    kind: str = Field(description="support_contact, service_event or purchase")
    when: str | None = Field(None, description="Date or time of the interaction (none for support contacts).")
    details: dict[str, str | int | float | bool] = Field(description="The interaction's recorded fields.")


class InteractionList(_Model):
    customer_id: str
    interactions: list[Interaction] = Field(description="Newest first.")
    more: bool = Field(description="True when the customer has more interactions than were returned.")


class Factor(_Model):
    feature: str
    description: str
    value: float
    coefficient: float
    contribution: float = Field(description="coefficient * value, in log-odds.")


class RankedOffer(_Model):
    rank: int
    service: str
    retention_probability: float = Field(description="Predicted probability of retention with this service.")
    uplift: float = Field(description="retention_probability minus the customer's baseline probability.")
    logit: float = Field(description="intercept + the sum of the factors' contributions.")
    factors: list[Factor] = Field(description="Each non-zero factor's contribution to the logit.")


class RankedOffers(_Model):
    customer_id: str
    baseline_retention_probability: float
    intercept: float
    offers: list[RankedOffer]
    already_has: list[str] = Field(description="Services the customer already bought: not ranked.")
    note: str


class OfferRequest(_Model):
    service: str = Field(pattern=SERVICE_PATTERN, description="The service to offer, as ranked (e.g. streaming).")
    discount_percent: int = Field(ge=0, le=50, description="Discount in percent, 0 to 50.")
    note: str | None = Field(None, max_length=500, description="Why this offer, for the account manager.")


class OfferCreated(_Model):
    offer_id: str
    customer_id: str
    service: str
    discount_percent: int
    note: str | None = None
    created_at: str


# ----------------------------------------------------------------------------------------------- resolver
app = BedrockAgentResolver()


@cache
def settings() -> ToolSettings:
    environ = {name: _env(name) for name in (SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV)}
    return deployed_settings(ToolSettings, environ)


@cache
def ranking_model(relative: str) -> RankingModel:
    return RankingModel.load(ASSET_ROOT / relative)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set; the Agent stack sets it")
    return value


def _error(error: ToolError) -> Response[Any]:
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error.body())


@app.exception_handler(ToolError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _tool_error(error: ToolError) -> Response[Any]:
    logger.info("tool error", extra={"code": error.code, "field": error.field})
    return _error(error)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _invalid(error: RequestValidationError) -> Response[Any]:
    problems = error.errors()
    first = problems[0] if problems else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("path", "query", "body")]
    field = ".".join(location) or None
    reason = str(first.get("msg") or first.get("type") or "invalid")
    logger.info("invalid parameter", extra={"field": field, "type": first.get("type")})
    return _error(ToolError(errors.INVALID_PARAMETER, f"{field or 'a parameter'}: {reason}", field=field))


@app.not_found
def _unknown(error: NotFoundError) -> Response[Any]:
    event = app.current_event
    return _error(
        ToolError(errors.UNKNOWN_OPERATION, f"no operation {event.http_method} {event.api_path} in this action group")
    )


@app.exception_handler(ClientError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _aws(error: ClientError) -> Response[Any]:
    logger.warning("table call failed", extra={"aws_error": error_code(error), "operation": error.operation_name})
    return _error(ToolError(errors.TABLE_UNAVAILABLE, "the customer data is unavailable right now; try again later"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error in a tool")
    return _error(ToolError(errors.INTERNAL_ERROR, "the tool failed unexpectedly; do not retry"))


def screen_results(resolver: BedrockAgentResolver, next_middleware: Any) -> Response[Any]:
    """Every successful result is sanitized and screened for injected instructions before the model sees it."""
    response: Response[Any] = next_middleware(resolver)
    if response.status_code >= 400:
        return response  # our own error bodies: fixed sentences and validated names
    screened = screen_tool_result(response.body)
    route = resolver.context.get("_route")
    tool = getattr(route, "operation_id", None) or resolver.current_event.api_path
    if not screened.withheld:
        if screened.removed:  # flagged segments cut out of a result that is kept: logged and counted too
            logger.warning(
                "tool result trimmed: injected instructions removed",
                extra={"tool": tool, "removed": [_finding(f) for f in screened.removed]},
            )
            with single_metric(
                name=TRIMMED_METRIC, unit=MetricUnit.Count, value=len(screened.removed), namespace=metrics.namespace
            ) as metric:
                metric.add_dimension(name="tool", value=tool)
        response.body = screened.payload
        return response
    logger.warning(
        "tool result withheld: injected instructions suspected",
        extra={
            "tool": tool,
            "cause": screened.cause,
            "findings": [_finding(f) for f in screened.findings],
        },
    )
    with single_metric(name=WITHHELD_METRIC, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="tool", value=tool)
    return _error(ToolError(errors.RESULT_WITHHELD, withheld_message(screened)))


def _finding(finding: Finding) -> dict[str, Any]:
    """What the log may hold of a flagged string: where, how sure, which rules, the spans; never its text."""
    return {
        "path": finding.path,
        "score": finding.score,
        "reasons": list(finding.reasons),
        "length": finding.length,
        "spans": [list(span) for span in finding.spans],
    }


app.use(middlewares=[screen_results])


def _customer(customer_id: str) -> dict[str, Any]:
    found = store.get_customer(client("dynamodb"), settings().customers_table, customer_id)
    if found is None:
        raise ToolError(errors.CUSTOMER_NOT_FOUND, f"no customer {customer_id}", field="customer_id")
    return found


@app.get(
    "/customers/<customer_id>",
    description="Get a customer's profile: plan, tenure in months, region, age band and whether they stayed.",
    operation_id="get_customer_profile",
)
@tracer.capture_method
def get_customer_profile(customer_id: CustomerId) -> CustomerProfile:
    profile = _customer(customer_id)
    return CustomerProfile.model_validate({k: v for k, v in profile.items() if k in CustomerProfile.model_fields})


@app.get(
    "/customers/<customer_id>/interactions",
    description="List a customer's most recent interactions: support contacts, service views and clicks, "
    "purchases. Newest first.",
    operation_id="list_customer_interactions",
)
@tracer.capture_method
def list_customer_interactions(
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=50, description="How many interactions to return, 1 to 50.")] = 10,
) -> InteractionList:
    _customer(customer_id)
    items, more = store.query_interactions(client("dynamodb"), settings().interactions_table, customer_id, limit)
    return InteractionList(customer_id=customer_id, interactions=[_interaction(item) for item in items], more=more)


def _interaction(item: dict[str, Any]) -> Interaction:
    when = str(item.get("interaction_id", "")).partition("#")[0] or None
    hidden = {"customer_id", "interaction_id", "kind", "dataset"}
    details = {k: v for k, v in item.items() if k not in hidden and isinstance(v, str | int | float | bool)}
    return Interaction(kind=str(item.get("kind", "")), when=when, details=details)


@app.get(
    "/customers/<customer_id>/offers/ranked",
    description="Rank the services the customer does not have yet by how likely each would keep them, with "
    "each factor's contribution (a transparent logistic regression).",
    operation_id="rank_retention_offers",
)
@tracer.capture_method
def rank_retention_offers(
    customer_id: CustomerId,
    top: Annotated[int, Query(ge=1, le=10, description="How many services to return, 1 to 10.")] = 3,
) -> RankedOffers:
    config = settings()
    profile = _customer(customer_id)
    interactions, _ = store.query_interactions(client("dynamodb"), config.interactions_table, customer_id)
    model = ranking_model(config.ranking_model)
    ranking = rank(model, customer_features(profile, interactions, model.services), top)
    offers = [
        RankedOffer(
            rank=position,
            service=offer.service,
            retention_probability=offer.score.probability,
            uplift=offer.uplift,
            logit=offer.score.logit,
            factors=[
                Factor(
                    feature=c.feature,
                    description=describe(c.feature),
                    value=c.value,
                    coefficient=c.coefficient,
                    contribution=c.contribution,
                )
                for c in offer.score.contributions
                if c.value != 0
            ],
        )
        for position, offer in enumerate(ranking.offers, start=1)
    ]
    return RankedOffers(
        customer_id=customer_id,
        baseline_retention_probability=ranking.baseline.probability,
        intercept=ranking.baseline.intercept,
        offers=offers,
        already_has=list(ranking.already_has),
        note=MODEL_NOTE,
    )


@app.post(  # type: ignore[untyped-decorator]  # BedrockAgentResolver.post has no return type
    "/customers/<customer_id>/offers",
    description="Create a retention offer for the customer: a service with a discount. The user must confirm. "
    "Creating the same offer again returns it unchanged; another offer for the same service is refused "
    "(OFFER_EXISTS).",
    operation_id="create_offer",
    openapi_extensions={"x-requireConfirmation": "ENABLED"},
)
@tracer.capture_method
def create_offer(customer_id: CustomerId, offer: Annotated[OfferRequest, Body()]) -> OfferCreated:
    config = settings()
    _customer(customer_id)
    if offer.service not in ranking_model(config.ranking_model).services:
        raise ToolError(errors.INVALID_PARAMETER, f"service: unknown service '{offer.service}'", field="service")
    request = {"customer_id": customer_id, **offer.model_dump()}
    try:
        created: dict[str, Any] = _idempotent_create(config.idempotency_table)(request=request)
    except IdempotencyValidationError:
        raise ToolError(
            errors.OFFER_EXISTS, f"an offer of {offer.service} with other terms exists for {customer_id}"
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ToolError(
            errors.OFFER_EXISTS, f"an offer of {offer.service} is being created for {customer_id}"
        ) from None
    return OfferCreated.model_validate(created)


def offer_id(customer_id: str, service: str) -> str:
    """One offer per customer and service: its id is derived from both."""
    return "O-" + hashlib.sha256(f"{customer_id}/{service}".encode()).hexdigest()[:16]


def write_offer(request: dict[str, Any], *, db: Any, table: str, now: datetime) -> dict[str, Any]:
    """Create the offer once; the same request again answers the stored offer, other terms OFFER_EXISTS."""
    offer = {
        "offer_id": offer_id(request["customer_id"], request["service"]),
        "customer_id": request["customer_id"],
        "service": request["service"],
        "discount_percent": request["discount_percent"],
        "note": request.get("note"),
        "created_at": now.isoformat(timespec="seconds"),
    }
    if store.put_offer_once(db, table, offer):
        logger.info("offer created", extra={"offer_id": offer["offer_id"], "service": offer["service"]})
        return offer
    existing = store.get_offer(db, table, request["customer_id"], request["service"]) or {}
    same = existing.get("discount_percent") == request["discount_percent"] and existing.get("note") == request.get(
        "note"
    )
    if not same:
        raise ToolError(
            errors.OFFER_EXISTS,
            f"an offer of {request['service']} with other terms exists for {request['customer_id']}",
        )
    return {key: existing.get(key) for key in offer}


@cache
def _idempotent_create(table: str) -> Any:
    """`write_offer` behind Powertools idempotency: keyed on customer and service, the terms validated, so a
    repeated call (the agent retrying, a double confirmation) answers the first result without a second write."""
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client("dynamodb"))
    config = IdempotencyConfig(
        event_key_jmespath="[customer_id, service]",
        payload_validation_jmespath="[discount_percent, note]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="request", persistence_store=persistence, config=config
    )
    def create(request: dict[str, Any]) -> dict[str, Any]:
        return write_offer(request, db=client("dynamodb"), table=settings().offers_table, now=datetime.now(UTC))

    return create


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

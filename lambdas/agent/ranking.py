"""Which service is most likely to keep a customer: a logistic regression anyone can read.

The model is a JSON artifact (models/retention_offers.json) written by tools/fit_retention_model.py, which fits
statsmodels' `Logit` on the curated sample data: the intercept and one coefficient per feature, in log-odds,
with the figures of the fit. Here it only scores: for a customer's features x,

    logit = intercept + sum(coefficient_f * x_f),   retention probability = 1 / (1 + exp(-logit))

and each factor's contribution is coefficient_f * x_f, so intercept + contributions = logit (summed with
`math.fsum`, in feature order: the figures the agent sees add up exactly).

To rank offers, each service the customer does not have yet is scored as if they took it (its
``purchased:<service>`` feature set to 1, nothing else changed) and services are ordered by that probability;
``uplift`` is the change against the customer as they are. It is an association learnt from historical data,
not a causal estimate: the tool says so to the agent.

The features (`customer_features`) are defined here once, for the fit and for scoring:
- ``tenure_years``: tenure_months / 12;
- ``plan:plus``, ``plan:premium``: the plan, one-hot against basic;
- ``open_support_contacts``: support contacts not resolved;
- ``purchased:<service>``: 1 when the customer bought the service (purchases);
- ``engaged:<service>``: 1 when the customer viewed or clicked it (service events).
Age band and region are left out on purpose: an offer should not depend on a customer's age or where they
live, and the Data stage's bias profile watches exactly those groups.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLANS = ("plus", "premium")  # one-hot against "basic"
TENURE = "tenure_years"
OPEN_SUPPORT = "open_support_contacts"
PURCHASED = "purchased:"
ENGAGED = "engaged:"


def feature_names(services: Iterable[str]) -> tuple[str, ...]:
    """The model's features, in the artifact's order."""
    ordered = sorted(services)
    return (
        TENURE,
        *(f"plan:{plan}" for plan in PLANS),
        OPEN_SUPPORT,
        *(f"{PURCHASED}{service}" for service in ordered),
        *(f"{ENGAGED}{service}" for service in ordered),
    )


def describe(name: str) -> str:
    """What a feature means, in words (the artifact and the tool's answer carry it)."""
    if name == TENURE:
        return "tenure in years (tenure_months / 12)"
    if name.startswith("plan:"):
        return f"1 if the customer's plan is {name.removeprefix('plan:')} (against basic), else 0"
    if name == OPEN_SUPPORT:
        return "number of support contacts not resolved"
    if name.startswith(PURCHASED):
        return f"1 if the customer bought {name.removeprefix(PURCHASED)}, else 0"
    if name.startswith(ENGAGED):
        return f"1 if the customer viewed or clicked {name.removeprefix(ENGAGED)}, else 0"
    raise ValueError(f"unknown feature {name!r}")


def customer_features(
    profile: Mapping[str, Any], interactions: Iterable[Mapping[str, Any]], services: Iterable[str]
) -> dict[str, float]:
    """The features of one customer from their profile and interaction items (records.interaction_item)."""
    names = feature_names(services)
    values = dict.fromkeys(names, 0.0)
    values[TENURE] = float(profile.get("tenure_months") or 0) / 12
    for plan in PLANS:
        values[f"plan:{plan}"] = 1.0 if profile.get("plan") == plan else 0.0
    for item in interactions:
        kind = item.get("kind")
        if kind == "support_contact" and item.get("resolved") is False:
            values[OPEN_SUPPORT] += 1.0
        elif kind == "purchase" and f"{PURCHASED}{item.get('service')}" in values:
            values[f"{PURCHASED}{item.get('service')}"] = 1.0
        elif kind == "service_event" and f"{ENGAGED}{item.get('service')}" in values:
            values[f"{ENGAGED}{item.get('service')}"] = 1.0
    return values


@dataclass(frozen=True)
class RankingModel:
    intercept: float
    coefficients: Mapping[str, float]  # in feature order
    services: tuple[str, ...]

    @classmethod
    def from_artifact(cls, data: Mapping[str, Any]) -> RankingModel:
        services = tuple(data["services"])
        names = tuple(feature["name"] for feature in data["features"])
        if names != feature_names(services):
            raise ValueError("the artifact's features are not the ones this code computes; re-run the fit")
        coefficients = {name: float(data["coefficients"][name]) for name in names}
        return cls(intercept=float(data["intercept"]), coefficients=coefficients, services=services)

    @classmethod
    def load(cls, path: Path) -> RankingModel:
        return cls.from_artifact(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float
    coefficient: float
    contribution: float  # coefficient * value, in log-odds


@dataclass(frozen=True)
class Score:
    intercept: float
    contributions: tuple[Contribution, ...]  # every feature, in model order
    logit: float  # fsum of intercept and contributions

    @property
    def probability(self) -> float:
        return sigmoid(self.logit)


@dataclass(frozen=True)
class Offer:
    service: str
    score: Score
    uplift: float  # probability with the service minus probability as the customer is


@dataclass(frozen=True)
class Ranking:
    baseline: Score
    offers: tuple[Offer, ...]
    already_has: tuple[str, ...]


def sigmoid(logit: float) -> float:
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1.0 + odds)


def score(model: RankingModel, features: Mapping[str, float]) -> Score:
    """The customer's logit with each factor's contribution; a feature the model lacks is an error."""
    unknown = set(features) - set(model.coefficients)
    if unknown:
        raise ValueError(f"features the model does not know: {sorted(unknown)}")
    contributions = tuple(
        Contribution(name, float(features.get(name, 0.0)), coef, coef * float(features.get(name, 0.0)))
        for name, coef in model.coefficients.items()
    )
    logit = math.fsum([model.intercept, *(c.contribution for c in contributions)])
    return Score(intercept=model.intercept, contributions=contributions, logit=logit)


def rank(model: RankingModel, features: Mapping[str, float], top: int) -> Ranking:
    """The ``top`` services the customer does not have, most likely to retain them first (ties by name)."""
    baseline = score(model, features)
    owned = tuple(s for s in model.services if features.get(f"{PURCHASED}{s}", 0.0) >= 1.0)
    offers = []
    for service in model.services:
        if service in owned:
            continue
        scenario = score(model, {**features, f"{PURCHASED}{service}": 1.0})
        offers.append(Offer(service, scenario, scenario.probability - baseline.probability))
    offers.sort(key=lambda offer: (-offer.score.probability, offer.service))
    return Ranking(baseline=baseline, offers=tuple(offers[:top]), already_has=owned)

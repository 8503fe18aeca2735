"""The ranking model: the artifact reproduces from the script, contributions sum to the logit, offers rank by it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from agent.contract import ToolSettings
from agent.ranking import RankingModel, customer_features, feature_names, rank, score, sigmoid
from agent.retention_analyst import ASSET_ROOT

from tools import fit_retention_model

ARTIFACT = ASSET_ROOT / ToolSettings.model_fields["ranking_model"].default


@pytest.fixture(scope="module")
def model() -> RankingModel:
    return RankingModel.load(ARTIFACT)


def test_the_fitted_coefficients_reproduce_from_the_script():
    stored = json.loads(ARTIFACT.read_text())
    fitted = fit_retention_model.fit()
    assert fit_retention_model.differences(stored, fitted) == []
    assert stored["fit"]["n"] == fitted["fit"]["n"] == 200
    assert stored["fit"]["converged"] is True
    assert fit_retention_model.main(["--check"]) == 0


def test_the_check_fails_on_a_changed_coefficient(tmp_path):
    stored = json.loads(ARTIFACT.read_text())
    stored["coefficients"]["plan:plus"] += 0.01
    changed = tmp_path / "model.json"
    changed.write_text(json.dumps(stored))
    assert fit_retention_model.main(["--check", "--out", str(changed)]) == 1


def test_the_artifact_states_its_features_and_fit(model):
    stored = json.loads(ARTIFACT.read_text())
    assert [f["name"] for f in stored["features"]] == list(feature_names(model.services))
    assert all(f["description"] for f in stored["features"])
    assert not any(name.startswith(("age", "region")) for name in model.coefficients)  # on purpose
    figures = stored["fit"]
    assert figures["log_likelihood"] > figures["null_log_likelihood"]
    assert figures["fitted_on"]["data"] == "usecases/customer-retention/sample-data"


CUSTOMER: dict[str, Any] = {"customer_id": "C1", "plan": "plus", "tenure_months": 30}
INTERACTIONS: list[dict[str, Any]] = [
    {"kind": "purchase", "service": "streaming"},
    {"kind": "service_event", "service": "cloud-backup"},
    {"kind": "support_contact", "resolved": False},
    {"kind": "support_contact", "resolved": True},
    {"kind": "purchase", "service": "not-a-model-service"},
]


def test_features_are_computed_from_the_profile_and_interactions(model):
    features = customer_features(CUSTOMER, INTERACTIONS, model.services)
    assert features["tenure_years"] == 2.5
    assert (features["plan:plus"], features["plan:premium"]) == (1.0, 0.0)
    assert features["open_support_contacts"] == 1.0
    assert features["purchased:streaming"] == 1.0
    assert features["engaged:cloud-backup"] == 1.0
    assert sum(features.values()) == 2.5 + 4


def test_contributions_and_intercept_sum_exactly_to_the_logit(model):
    features = customer_features(CUSTOMER, INTERACTIONS, model.services)
    result = score(model, features)
    assert math.fsum([result.intercept, *(c.contribution for c in result.contributions)]) == result.logit
    for c in result.contributions:
        assert c.contribution == c.coefficient * c.value
    by_dot = model.intercept + sum(model.coefficients[n] * features[n] for n in model.coefficients)
    assert result.logit == pytest.approx(by_dot, abs=1e-12)
    assert result.probability == pytest.approx(1 / (1 + math.exp(-by_dot)))


def test_offers_rank_services_not_owned_by_their_scenario_probability(model):
    features = customer_features(CUSTOMER, INTERACTIONS, model.services)
    ranking = rank(model, features, top=10)
    assert ranking.already_has == ("streaming",)
    assert {o.service for o in ranking.offers} == set(model.services) - {"streaming"}
    probabilities = [o.score.probability for o in ranking.offers]
    assert probabilities == sorted(probabilities, reverse=True)
    # The scenario only switches the offered service's purchase on: its uplift is that coefficient's effect.
    for offer in ranking.offers:
        shifted = ranking.baseline.logit + model.coefficients[f"purchased:{offer.service}"]
        assert offer.score.logit == pytest.approx(shifted, abs=1e-12)
        assert offer.uplift == pytest.approx(sigmoid(shifted) - ranking.baseline.probability)
    best = max(
        model.services, key=lambda s: (model.coefficients[f"purchased:{s}"], s) if s != "streaming" else (-99, s)
    )
    assert ranking.offers[0].service == best
    assert len(rank(model, features, top=2).offers) == 2


def test_sigmoid_is_stable_at_the_extremes():
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(0.0) == 0.5


def test_an_artifact_with_other_features_is_refused(model):
    stored = json.loads(ARTIFACT.read_text())
    stored["features"] = stored["features"][:-1]
    with pytest.raises(ValueError, match="re-run the fit"):
        RankingModel.from_artifact(stored)
    with pytest.raises(ValueError, match="does not know"):
        score(model, {"shoe_size": 1.0})

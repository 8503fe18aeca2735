"""Model catalogue: the YAML is sound, and every error and warning of `check_models` fires exactly when it should.

Expected values are copied from stacks/config/models.yaml and the AWS pages it cites (model cards, the
Knowledge Bases page, the lifecycle pages), never recomputed with the code under test.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import ConfigError, load_usecase
from stacks.config.model_catalogue import (
    CATALOGUE_PATH,
    Catalogue,
    ModelCheck,
    check_models,
    closest_id,
    load_catalogue,
)

TEXT, EMBEDDING, DIMENSIONS = "models.text", "models.embedding", "models.embedding_dimensions"
CHECKED = "2026-12-02"

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_V1 = "amazon.titan-embed-text-v1"
EMBED_V4 = "cohere.embed-v4:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
GLOBAL_HAIKU_45 = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
US_HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
EU_HAIKU_45 = "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
US_HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"

# Knowledge Bases page, "Supported number of dimensions".
TITAN_V2_SIZES = (256, 512, 1024)
TITAN_V1_SIZES = (1536,)
# Embed v4 request parameters: "output_dimension": 256 | 512 | 1024 | 1536.
EMBED_V4_SIZES = (256, 512, 1024, 1536)

REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
PROFILE_PREFIXES = ("us", "eu", "apac", "jp", "au", "global")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def check(
    catalogue: Catalogue,
    text: str = GLOBAL_HAIKU_45,
    embedding: str = TITAN_V2,
    dimensions: int = 1024,
    regions: tuple[str, ...] = (),
) -> ModelCheck:
    return check_models(text, embedding, dimensions, regions, catalogue)


def fields(pairs: list[tuple[str, str]]) -> list[str]:
    return [f for f, _ in pairs]


def text_errors(result: ModelCheck) -> list[tuple[str, str]]:
    return [(f, reason) for f, reason in result.errors if f == TEXT]


# --------------------------------------------------------------------------------------------
# The YAML itself, read without the code under test
# --------------------------------------------------------------------------------------------


def all_ids(raw: dict[str, Any]) -> list[str]:
    return [i for m in raw["models"] for i in (m["id"], *(p["id"] for p in m["profiles"]))]


def test_the_yaml_loads_with_every_model_of_the_file(catalogue: Catalogue, raw: dict[str, Any]):
    assert [m.id for m in catalogue.models] == [m["id"] for m in raw["models"]]
    assert catalogue.known_ids() == all_ids(raw)
    assert str(catalogue.checked) == CHECKED
    assert load_catalogue() is catalogue  # cached: synth reads the file once


def test_every_id_is_unique(raw: dict[str, Any]):
    ids = all_ids(raw)
    assert len(ids) == len(set(ids))


def test_every_profile_routes_to_a_model_of_the_catalogue_and_is_named_after_it(raw: dict[str, Any]):
    model_ids = {m["id"] for m in raw["models"]}
    for model in raw["models"]:
        for profile in model["profiles"]:
            assert profile["model"] in model_ids
            assert profile["model"] == model["id"]
            prefix, _, rest = profile["id"].partition(".")
            assert prefix in PROFILE_PREFIXES, profile["id"]
            assert rest == profile["model"], profile["id"]


def test_every_region_looks_like_a_region(raw: dict[str, Any]):
    regions = [r for m in raw["models"] for r in (*m["regions"], *(m.get("legacy_regions") or []))]
    regions += [r for m in raw["models"] for p in m["profiles"] for r in p["source_regions"]]
    assert regions
    assert all(REGION.match(r) for r in regions), [r for r in regions if not REGION.match(r)]


def test_embedding_models_list_their_sizes_and_text_models_do_not(raw: dict[str, Any]):
    for model in raw["models"]:
        assert model["modality"] in {"text", "embedding", "multimodal-embedding", "image"}
        assert bool(model.get("embedding_dimensions")) == (model["modality"] != "text"), model["id"]


def test_legacy_models_name_an_active_successor_and_recommendations_are_active(raw: dict[str, Any]):
    by_id = {i: m for m in raw["models"] for i in (m["id"], *(p["id"] for p in m["profiles"]))}
    for model in raw["models"]:
        assert model["lifecycle"] in {"active", "legacy"}
        if model["lifecycle"] == "legacy":
            assert by_id[model["successor"]]["lifecycle"] == "active", model["id"]
            assert model["legacy_since"] <= model.get("eol", model["legacy_since"])
    assert by_id[raw["recommended"]["text"]]["modality"] == "text"
    assert by_id[raw["recommended"]["embedding"]]["modality"] == "embedding"


def test_sources_are_aws_documentation_pages(raw: dict[str, Any]):
    urls = [s["url"] for s in raw["source"]]
    assert all(u.startswith("https://docs.aws.amazon.com/bedrock/") for u in urls)
    assert any(u.endswith("inference-profiles-support.html") for u in urls)
    assert any("model-lifecycle" in u for u in urls)


def test_the_documented_facts_the_checks_rely_on(catalogue: Catalogue):
    titan_v2 = catalogue.model(TITAN_V2)
    assert titan_v2 is not None
    assert tuple(titan_v2.embedding_dimensions or ()) == TITAN_V2_SIZES
    assert {"eu-west-1", "us-east-1"} <= set(titan_v2.regions)
    global_haiku = catalogue.profile(GLOBAL_HAIKU_45)
    assert global_haiku is not None
    assert {"eu-west-1", "us-east-1"} <= set(global_haiku.source_regions)
    assert catalogue.model_of(GLOBAL_HAIKU_45) is catalogue.model(HAIKU_45)
    assert catalogue.model("no.such-model") is None
    assert catalogue.model_of("no.such-model") is None


# --------------------------------------------------------------------------------------------
# A bad catalogue file is one clean line
# --------------------------------------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "source": [
        {"title": "Model cards", "url": "https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards.html"}
    ],
    "checked": "2026-12-02",
    "recommended": {"text": "a.text-v1", "embedding": "a.embed-v1"},
    "x-anchor": ["eu-west-1"],
    "models": [
        {
            "id": "a.text-v1",
            "name": "Text One",
            "provider": "a",
            "modality": "text",
            "regions": ["eu-west-1"],
            "lifecycle": "active",
            "profiles": [{"id": "eu.a.text-v1", "model": "a.text-v1", "source_regions": ["eu-west-1"]}],
        },
        {
            "id": "a.embed-v1",
            "name": "Embed One",
            "provider": "a",
            "modality": "embedding",
            "embedding_dimensions": [8],
            "regions": ["eu-west-1"],
            "lifecycle": "active",
        },
        {
            "id": "a.old-v1",
            "name": "Old One",
            "provider": "a",
            "modality": "text",
            "regions": ["us-east-1", "eu-west-1"],
            "lifecycle": "legacy",
            "legacy_since": "2026-01-01",
            "legacy_regions": ["us-east-1"],
            "successor": "eu.a.text-v1",
            "profiles": [{"id": "us.a.old-v1", "model": "a.old-v1", "source_regions": ["us-east-1", "eu-west-1"]}],
        },
    ],
}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_minimal_file_loads_and_anchor_keys_are_dropped(tmp_path: Path):
    catalogue = load_catalogue(write(tmp_path, MINIMAL))
    assert catalogue.known_ids() == ["a.text-v1", "eu.a.text-v1", "a.embed-v1", "a.old-v1", "us.a.old-v1"]


def broken(change: str) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    text, embed, old = data["models"]
    if change == "duplicate id":
        embed["id"] = "eu.a.text-v1"
    elif change == "profile of another model":
        text["profiles"][0]["model"] = "a.embed-v1"
    elif change == "text model with sizes":
        text["embedding_dimensions"] = [8]
    elif change == "embedding model without sizes":
        del embed["embedding_dimensions"]
    elif change == "legacy without successor":
        del old["successor"]
    elif change == "active with an eol":
        text["eol"] = "2027-01-01"
    elif change == "successor is legacy":
        old["successor"] = "us.a.old-v1"
    elif change == "recommended embedding is a text model":
        data["recommended"]["embedding"] = "a.text-v1"
    elif change == "bad region":
        text["regions"] = ["Ireland"]
    elif change == "unknown field":
        text["price"] = 1
    elif change == "non-AWS source":
        data["source"][0]["url"] = "https://example.com/models"
    return data


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("duplicate id", "(root)", "eu.a.text-v1 appears twice"),
        ("profile of another model", "models.0", "routes to a.embed-v1, not to a.text-v1"),
        ("text model with sizes", "models.0", "embedding_dimensions is required for embedding models"),
        ("embedding model without sizes", "models.1", "embedding_dimensions is required for embedding models"),
        ("legacy without successor", "models.2", "needs legacy_since and successor"),
        ("active with an eol", "models.0", "are for legacy models"),
        ("successor is legacy", "(root)", "a.old-v1: us.a.old-v1 must be an active text model"),
        ("recommended embedding is a text model", "(root)", "recommended.embedding: a.text-v1 must be an active"),
        ("bad region", "models.0.regions.0", ""),  # wording of pattern errors belongs to stacks.config
        ("unknown field", "models.0.price", "unknown field"),
        ("non-AWS source", "source.0.url", ""),
    ],
)
def test_a_broken_file_is_one_line_naming_file_field_and_reason(tmp_path: Path, change: str, field: str, words: str):
    with pytest.raises(ConfigError) as caught:
        load_catalogue(write(tmp_path, broken(change)))
    assert caught.value.field == field
    assert words in caught.value.reason
    assert "\n" not in str(caught.value)
    assert caught.value.source.endswith("models.yaml")


# --------------------------------------------------------------------------------------------
# Errors: known to fail
# --------------------------------------------------------------------------------------------


def test_an_embedding_model_as_text_is_an_error(catalogue: Catalogue):
    result = check(catalogue, text=TITAN_V2)
    assert result.errors == [
        (
            TEXT,
            f"{TITAN_V2} is an embedding model (Titan Text Embeddings V2); generation needs a text model "
            f"or profile such as {GLOBAL_HAIKU_45}",
        )
    ]
    assert not result.ok


def test_a_text_model_or_its_profile_as_embedding_is_an_error(catalogue: Catalogue):
    for embedding in (HAIKU_45, GLOBAL_HAIKU_45):
        result = check(catalogue, embedding=embedding)
        assert result.errors == [
            (
                EMBEDDING,
                f"{embedding} is a text model (Claude Haiku 4.5); the knowledge base needs an embedding model "
                f"such as {TITAN_V2}",
            )
        ]


@pytest.mark.parametrize(
    ("embedding", "size"),
    [(TITAN_V2, s) for s in TITAN_V2_SIZES]
    + [(TITAN_V1, s) for s in TITAN_V1_SIZES]
    + [(EMBED_V4, s) for s in EMBED_V4_SIZES],
)
def test_every_documented_embedding_size_is_accepted(catalogue: Catalogue, embedding: str, size: int):
    assert check(catalogue, embedding=embedding, dimensions=size).errors == []


@pytest.mark.parametrize(
    ("embedding", "size", "supported"),
    [
        (TITAN_V2, 1536, "256, 512, 1024"),
        (TITAN_V2, 255, "256, 512, 1024"),
        (TITAN_V2, 1025, "256, 512, 1024"),
        (TITAN_V1, 1024, "1536"),
        (EMBED_V4, 2048, "256, 512, 1024, 1536"),
    ],
)
def test_an_undocumented_embedding_size_is_an_error_naming_the_allowed_ones(
    catalogue: Catalogue, embedding: str, size: int, supported: str
):
    result = check(catalogue, embedding=embedding, dimensions=size)
    assert result.errors == [(DIMENSIONS, f"{size} is not a vector size {embedding} makes (supported: {supported})")]


def test_an_embedding_model_not_offered_in_a_pinned_region_is_an_error(catalogue: Catalogue):
    result = check(catalogue, embedding=TITAN_V1, dimensions=1536, regions=("eu-west-1",))
    assert result.errors == [
        (
            EMBEDDING,
            f"{TITAN_V1} is not offered in eu-west-1 (offered in: us-east-1, us-west-2, eu-central-1, ap-northeast-1)",
        )
    ]


def test_each_pinned_region_without_the_model_is_its_own_error(catalogue: Catalogue):
    result = check(
        catalogue, embedding=TITAN_V1, dimensions=1536, regions=("eu-west-1", "us-east-1", "eu-west-1", "sa-east-1")
    )
    assert [reason.split(" (")[0] for _, reason in result.errors] == [
        f"{TITAN_V1} is not offered in eu-west-1",
        f"{TITAN_V1} is not offered in sa-east-1",
    ]


def test_a_text_model_not_offered_in_region_points_to_the_profiles_callable_from_there(catalogue: Catalogue):
    result = check(catalogue, text="amazon.nova-pro-v1:0", regions=("eu-west-1",))
    assert result.errors == [
        (
            TEXT,
            "amazon.nova-pro-v1:0 is not offered in eu-west-1 (offered in: us-east-1, us-gov-west-1, eu-west-2, "
            "ap-southeast-2, ap-southeast-3, me-central-1); from eu-west-1 use eu.amazon.nova-pro-v1:0",
        )
    ]
    no_profile_here = check(catalogue, text="meta.llama3-3-70b-instruct-v1:0", regions=("eu-west-1",))
    assert no_profile_here.errors == [
        (TEXT, "meta.llama3-3-70b-instruct-v1:0 is not offered in eu-west-1 (offered in: us-east-2)")
    ]


def test_a_profile_called_from_outside_its_source_regions_is_an_error(catalogue: Catalogue):
    result = check(catalogue, text=US_HAIKU_45, regions=("eu-west-1",))
    assert text_errors(result) == [
        (
            TEXT,
            f"inference profile {US_HAIKU_45} cannot be called from eu-west-1 (source Regions: us-east-1, us-east-2, "
            f"us-west-1, us-west-2, ca-central-1); from eu-west-1 use {EU_HAIKU_45} or {GLOBAL_HAIKU_45} or {HAIKU_45}",
        )
    ]
    assert text_errors(check(catalogue, text=US_HAIKU_45, regions=("us-west-1",))) == []


def test_a_global_profile_is_callable_from_its_source_regions_only(catalogue: Catalogue):
    assert (
        text_errors(check(catalogue, text=GLOBAL_HAIKU_45, regions=("eu-west-1", "us-east-1", "ap-southeast-7"))) == []
    )
    # The global Claude Sonnet 4 profile has five source Regions (its model card).
    sonnet_4 = "global.anthropic.claude-sonnet-4-20250514-v1:0"
    result = check(catalogue, text=sonnet_4, regions=("eu-west-1", "eu-central-1"))
    assert text_errors(result) == [
        (
            TEXT,
            f"inference profile {sonnet_4} cannot be called from eu-central-1 (source Regions: us-east-1, us-east-2, "
            "us-west-2, eu-west-1, ap-northeast-1); from eu-central-1 use eu.anthropic.claude-sonnet-4-20250514-v1:0",
        )
    ]


def test_a_model_served_only_through_profiles_is_an_error_even_without_regions(catalogue: Catalogue):
    result = check(catalogue, text=SONNET_45)
    assert result.errors == [
        (
            TEXT,
            f"{SONNET_45} is not served on demand in any Region; call it through an inference profile: "
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0, eu.anthropic.claude-sonnet-4-5-20250929-v1:0, "
            "au.anthropic.claude-sonnet-4-5-20250929-v1:0, jp.anthropic.claude-sonnet-4-5-20250929-v1:0, "
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        )
    ]
    assert check(catalogue, text=f"global.{SONNET_45}").errors == []


def test_a_retired_model_and_its_profile_are_errors(catalogue: Catalogue):
    sonnet_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert check(catalogue, text=sonnet_37).errors == [
        (
            TEXT,
            f"{sonnet_37} is not served on demand in any Region (Claude 3.7 Sonnet reached end of life on 2026-07-30)",
        )
    ]
    assert check(catalogue, text=f"us.{sonnet_37}").errors == [
        (
            TEXT,
            f"inference profile us.{sonnet_37} cannot be called from any Region "
            "(Claude 3.7 Sonnet reached end of life on 2026-07-30)",
        )
    ]


def test_an_embedding_profile_is_an_error_naming_the_foundation_model(catalogue: Catalogue):
    result = check(catalogue, embedding="eu.cohere.embed-v4:0", dimensions=1024, regions=("eu-west-1",))
    assert result.errors == [
        (
            EMBEDDING,
            "eu.cohere.embed-v4:0 is a cross-Region inference profile; the knowledge base embeds with a "
            f"foundation-model ARN in its own Region, so use {EMBED_V4}",
        )
    ]
    assert check(catalogue, embedding=EMBED_V4, dimensions=1024, regions=("eu-west-1",)).errors == []


def test_an_environment_agnostic_synth_gets_no_region_errors(catalogue: Catalogue):
    assert check(catalogue, text=US_HAIKU_45, embedding=TITAN_V1, dimensions=1536, regions=()).errors == []
    assert check(catalogue, text="meta.llama3-3-70b-instruct-v1:0", regions=()).errors == []


# --------------------------------------------------------------------------------------------
# Warnings: synth continues
# --------------------------------------------------------------------------------------------


def test_an_unknown_id_is_a_warning_with_the_closest_known_id(catalogue: Catalogue):
    result = check(catalogue, text="anthropic.claude-haiku-4-5", embedding="amazon.titan-embed-text-v3:0")
    assert result.errors == []
    assert result.warnings == [
        (
            TEXT,
            f"anthropic.claude-haiku-4-5 is not in stacks/config/models.yaml (checked {CHECKED}); synth continues — "
            f"check the id in the Bedrock console; did you mean {HAIKU_45}?",
        ),
        (
            EMBEDDING,
            f"amazon.titan-embed-text-v3:0 is not in stacks/config/models.yaml (checked {CHECKED}); synth continues — "
            f"check the id in the Bedrock console; did you mean {TITAN_V2}?",
        ),
    ]


def test_an_unknown_id_with_nothing_close_has_no_guess(catalogue: Catalogue):
    result = check(catalogue, text="zz.qq-1")
    assert result.warnings == [
        (
            TEXT,
            f"zz.qq-1 is not in stacks/config/models.yaml (checked {CHECKED}); "
            "synth continues — check the id in the Bedrock console",
        )
    ]


def test_closest_id_finds_typos_and_missing_versions(catalogue: Catalogue):
    assert closest_id("amazon.titan-embed-txt-v2:0", catalogue) == TITAN_V2
    assert closest_id("us.anthropic.claude-haiku-4-5-20251001-v1", catalogue) == US_HAIKU_45
    assert closest_id("gpt-4o", catalogue) is None


def test_a_legacy_model_past_its_end_of_life_is_a_warning_that_says_calls_fail(catalogue: Catalogue):
    result = check(catalogue, text=US_HAIKU_35)
    assert result.errors == []
    assert result.warnings == [
        (
            TEXT,
            f"{US_HAIKU_35} is legacy since 2025-12-19, end of life 2026-06-19 (before this catalogue was checked "
            f"on {CHECKED}: calls fail); choose an active model such as {GLOBAL_HAIKU_45}",
        )
    ]


def test_a_legacy_model_before_its_end_of_life_gives_the_date(catalogue: Catalogue):
    opus = "us.anthropic.claude-opus-4-1-20250805-v1:0"
    assert check(catalogue, text=opus).warnings == [
        (
            TEXT,
            f"{opus} is legacy since 2026-07-08, end of life 2027-01-08; choose an active model such as "
            "global.anthropic.claude-sonnet-4-6",
        )
    ]


def test_a_model_legacy_in_some_regions_warns_only_where_it_is_legacy(catalogue: Catalogue):
    haiku_3 = "anthropic.claude-3-haiku-20240307-v1:0"
    assert check(catalogue, text=haiku_3, regions=("ap-south-1",)).warnings == []
    assert fields(check(catalogue, text=haiku_3, regions=("eu-west-1",)).warnings) == [TEXT]
    assert (
        check(catalogue, text=haiku_3, regions=("ap-south-1", "eu-west-1"))
        .warnings[0][1]
        .startswith(f"{haiku_3} is legacy in eu-west-1 since 2026-03-10, end of life 2026-09-10")
    )
    assert (
        check(catalogue, text=haiku_3)
        .warnings[0][1]
        .startswith(f"{haiku_3} is legacy in some Regions since 2026-03-10")
    )


def test_a_profile_of_a_partly_legacy_model_always_warns(tmp_path: Path):
    small = load_catalogue(write(tmp_path, MINIMAL))
    assert check_models("a.old-v1", "a.embed-v1", 8, ["eu-west-1"], small).warnings == []
    assert check_models("us.a.old-v1", "a.embed-v1", 8, ["eu-west-1"], small).warnings == [
        (TEXT, "us.a.old-v1 is legacy in some Regions since 2026-01-01; choose an active model such as eu.a.text-v1")
    ]
    assert check_models("a.old-v1", "a.embed-v1", 8, ["us-east-1"], small).warnings == [
        (TEXT, "a.old-v1 is legacy in us-east-1 since 2026-01-01; choose an active model such as eu.a.text-v1")
    ]


def test_a_legacy_embedding_model_warns_on_the_embedding_field(tmp_path: Path):
    data = copy.deepcopy(MINIMAL)
    data["models"].append(
        {
            "id": "a.old-embed-v1",
            "name": "Old Embed",
            "provider": "a",
            "modality": "embedding",
            "embedding_dimensions": [8],
            "regions": ["eu-west-1"],
            "lifecycle": "legacy",
            "legacy_since": "2026-02-01",
            "eol": "2027-02-01",
            "successor": "a.embed-v1",
        }
    )
    small = load_catalogue(write(tmp_path, data))
    result = check_models("a.text-v1", "a.old-embed-v1", 8, [], small)
    assert result.errors == []
    assert result.warnings == [
        (
            EMBEDDING,
            "a.old-embed-v1 is legacy since 2026-02-01, end of life 2027-02-01; "
            "choose an active model such as a.embed-v1",
        )
    ]


# --------------------------------------------------------------------------------------------
# The shipped use case, the recommended default, and the result type
# --------------------------------------------------------------------------------------------


def test_the_default_use_case_has_no_error(catalogue: Catalogue):
    models = load_usecase("customer-retention").models_for("the test")
    result = check_models(models.text, models.embedding, models.embedding_dimensions, [], catalogue)
    assert result.errors == []
    if models.text == US_HAIKU_35:  # legacy and past end of life: a warning, not an error
        assert fields(result.warnings) == [TEXT]


def test_the_recommended_default_works_in_eu_west_1_and_us_east_1_alike(catalogue: Catalogue):
    result = check(
        catalogue, text=GLOBAL_HAIKU_45, embedding=TITAN_V2, dimensions=1024, regions=("eu-west-1", "us-east-1")
    )
    assert result == ModelCheck(errors=[], warnings=[])
    assert result.ok


def test_every_reason_is_one_line_and_the_check_is_pure(catalogue: Catalogue):
    regions = ["eu-west-1", "ap-south-1"]
    first = check_models(US_HAIKU_35, "us.cohere.embed-v4:0", 3, regions, catalogue)
    again = check_models(US_HAIKU_35, "us.cohere.embed-v4:0", 3, regions, catalogue)
    assert first == again
    assert regions == ["eu-west-1", "ap-south-1"]
    assert len(first.errors) == 4
    assert all("\n" not in reason for _, reason in [*first.errors, *first.warnings])


def test_the_result_is_frozen(catalogue: Catalogue):
    result = check(catalogue)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.errors = []  # type: ignore[misc]

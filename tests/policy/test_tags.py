"""Every taggable resource carries the project, stage and usecase tags."""

from __future__ import annotations

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tools.iam_check import FRAMEWORK_PROVIDERS

EXPECTED_KEYS = {"project", "stage", "usecase"}


def _taggable(resource_type: str) -> bool:
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:  # custom resources and types cfn-lint has no schema for
        return False
    return "Tags" in schema.get("properties", {})


def _tag_keys(tags) -> set[str]:
    if isinstance(tags, dict):  # map-shaped Tags (e.g. SSM, some Bedrock types)
        return set(tags)
    return {tag["Key"] for tag in tags}


def test_every_taggable_resource_is_tagged(synth):
    untagged = []
    for stack, logical_id, resource in synth.resources():
        # CDK's framework providers are raw CfnResources that tag aspects do not reach.
        if _taggable(resource["Type"]) and not logical_id.startswith(FRAMEWORK_PROVIDERS):
            keys = _tag_keys(resource.get("Properties", {}).get("Tags", []))
            if not keys >= EXPECTED_KEYS:
                untagged.append(f"{stack}/{logical_id} {resource['Type']} has {sorted(keys)}")
    assert untagged == [], "\n".join(untagged)


def test_tag_values_name_the_stage(synth):
    stages = set()
    for stack, _, resource in synth.resources("AWS::KMS::Key"):
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        stage = stack.removeprefix("journey-customer-retention-").removesuffix("-Foundation")
        assert tags == {"project": "journey", "stage": stage, "usecase": "customer-retention"}
        stages.add(stage)
    assert stages == {"dev", "prod"}

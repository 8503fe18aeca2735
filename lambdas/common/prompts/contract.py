"""What the Prompts stack hands the serving stage: one SSM String parameter per task, `/<prefix>/prompts/<task>`.

Its value is the JSON of `TaskPrompts`: the selected variant of the task, its technique, the model, the declared
variables, the prompt version ARNs in the order they run (one for a single prompt, one per step for a
multi-prompt variant) and the inference settings. The stack builds this very model (stacks/prompts/stack.py) and a
function parses it, e.g. with Powertools parameters:

    TaskPrompts.model_validate_json(parameters.get_parameter("/<prefix>/prompts/answer"))

The template text stays in Bedrock Prompt Management (a parameter holds 4 KB): `stored_prompt` reads a
`bedrock-agent` GetPrompt response of one version into the template, system text and inference settings the
runner (`common.prompts.chain`) takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Technique = Literal["few-shot", "chain-of-thought", "multi-prompt"]
TECHNIQUES: tuple[Technique, ...] = ("few-shot", "chain-of-thought", "multi-prompt")

# Bedrock Prompt Management's bounds (PromptModelInferenceConfiguration); a model may allow less.
MAX_TOKENS = 512_000
PROMPT_VERSION_ARN = r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]{1,20}:\d{12}:prompt/[0-9a-zA-Z]{10}:\d{1,5}$"
PARAMETER_PATH = "/{prefix}/prompts/{task}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inference(_Frozen):
    """Inference settings of a prompt; each is optional (the model's default applies)."""

    temperature: float | None = Field(None, ge=0, le=1, description="Randomness, 0-1.")
    top_p: float | None = Field(None, ge=0, le=1, description="Nucleus sampling cut-off, 0-1.")
    max_tokens: int | None = Field(
        None, ge=1, le=MAX_TOKENS, description="Longest answer in tokens (the model's own maximum applies too)."
    )

    def converse(self) -> dict[str, float | int]:
        """Converse's ``inferenceConfig``: only the settings that are set."""
        names = {"temperature": "temperature", "top_p": "topP", "max_tokens": "maxTokens"}
        return {names[key]: value for key, value in self.model_dump(exclude_none=True).items()}


class PromptRef(_Frozen):
    """One prompt version of the selected variant; ``step`` names it in a multi-prompt chain."""

    step: str | None = Field(None, description="The step's name (its output's variable); None for a single prompt.")
    version_arn: str = Field(pattern=PROMPT_VERSION_ARN, description="Prompt version ARN (GetPrompt, Converse).")


class TaskPrompts(_Frozen):
    """The value of `/<prefix>/prompts/<task>`: the selected variant of one task."""

    task: str
    variant: str
    technique: Technique
    model_id: str = Field(description="models.text of usecase.yaml: a model or inference-profile id.")
    variables: list[str] = Field(description="The variables a caller supplies (the declared ones).")
    prompts: list[PromptRef] = Field(min_length=1, description="In the order they run; the last one answers.")
    inference: Inference = Field(default_factory=Inference)


class StoredPrompt(_Frozen):
    """One prompt version as Prompt Management returns it."""

    template: str
    system: str | None = None
    inference: Inference = Field(default_factory=Inference)
    model_id: str | None = None


def stored_prompt(response: Mapping[str, Any]) -> StoredPrompt:
    """The template, system text, inference settings and model of a GetPrompt response (its one variant).

    The Prompts stack writes a TEXT template, or a CHAT template of one system block and one user message when
    the variant has system text; a variant in another shape raises `ValueError`.
    """
    variants = response.get("variants") or []
    if len(variants) != 1:
        raise ValueError(f"expected one variant, got {len(variants)}")
    variant = variants[0]
    config = variant.get("templateConfiguration", {})
    system: str | None = None
    if variant.get("templateType") == "TEXT":
        template = config["text"]["text"]
    elif variant.get("templateType") == "CHAT":
        chat = config["chat"]
        messages = chat.get("messages", [])
        if len(messages) != 1 or messages[0].get("role") != "user":
            raise ValueError("expected a CHAT template of one user message")
        template = "".join(block.get("text", "") for block in messages[0]["content"])
        system = "".join(block.get("text", "") for block in chat.get("system", [])) or None
    else:
        raise ValueError(f"unsupported template type {variant.get('templateType')!r}")
    text = (variant.get("inferenceConfiguration") or {}).get("text") or {}
    inference = Inference(temperature=text.get("temperature"), top_p=text.get("topP"), max_tokens=text.get("maxTokens"))
    return StoredPrompt(template=template, system=system, inference=inference, model_id=variant.get("modelId"))

"""Scripted stand-ins for what `SafetyChain` is given: Comprehend and Bedrock clients, a logger, a metrics sink,
an executor that runs checks inline and a clock. Shared by the test_chain_*.py modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any

from common.safety.chain import SafetyChain, SafetyClients
from common.safety.policy import SafetySettings

RECOGNIZER = "arn:aws:comprehend:eu-west-1:111111111111:entity-recognizer-endpoint/entities"
CLASSIFIER = "arn:aws:comprehend:eu-west-1:111111111111:document-classifier-endpoint/toxicity"


class Comprehend:
    """Answers like Comprehend. ``pii`` lists (type, string) pairs reported wherever the string occurs;
    ``fail`` names the operations that raise; ``hook`` runs on every call (to block, time or count)."""

    def __init__(
        self,
        *,
        toxic: float = 0.0,
        classifier_toxic: float = 0.0,
        entities: Iterable[dict[str, Any]] = (),
        pii: Iterable[tuple[str, str]] = (),
        fail: Iterable[str] = (),
        hook: Callable[[str], None] | None = None,
    ) -> None:
        self.toxic, self.classifier_toxic = toxic, classifier_toxic
        self.entities, self.pii, self.fail, self.hook = list(entities), list(pii), set(fail), hook
        self.calls: list[str] = []

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.hook is not None:
            self.hook(operation)
        if operation in self.fail:
            raise RuntimeError(f"{operation} unavailable")

    def detect_toxic_content(self, **kwargs: Any) -> dict:
        self._enter("detect_toxic_content")
        score = self.toxic
        return {"ResultList": [{"Toxicity": score, "Labels": [{"Name": "HATE_SPEECH", "Score": score}]}]}

    def classify_document(self, **kwargs: Any) -> dict:
        self._enter("classify_document")
        return {"Classes": [{"Name": "toxic", "Score": self.classifier_toxic}]}

    def detect_entities(self, **kwargs: Any) -> dict:
        self._enter("detect_entities")
        return {"Entities": self.entities}

    def detect_pii_entities(self, *, Text: str, **kwargs: Any) -> dict:  # noqa: N803 - boto3 argument name
        self._enter("detect_pii_entities")
        found = []
        for entity_type, secret in self.pii:
            begin = Text.find(secret)
            while begin >= 0:
                found.append(
                    {"Type": entity_type, "Score": 0.99, "BeginOffset": begin, "EndOffset": begin + len(secret)}
                )
                begin = Text.find(secret, begin + 1)
        return {"Entities": found}


class Bedrock:
    """ApplyGuardrail: passes, blocks (``block``) or anonymizes to ``masked``; records every request."""

    def __init__(
        self,
        *,
        block: bool = False,
        masked: str | None = None,
        fail: bool = False,
        hook: Callable[[str], None] | None = None,
    ) -> None:
        self.block, self.masked, self.fail, self.hook = block, masked, fail, hook
        self.requests: list[dict[str, Any]] = []

    def apply_guardrail(self, **kwargs: Any) -> dict:
        self.requests.append(kwargs)
        if self.hook is not None:
            self.hook("apply_guardrail")
        if self.fail:
            raise RuntimeError("bedrock unavailable")
        if self.block:
            return {
                "action": "GUARDRAIL_INTERVENED",
                "outputs": [{"text": "blocked"}],
                "assessments": [{"contentPolicy": {"filters": [{"type": "HATE", "action": "BLOCKED"}]}}],
            }
        if self.masked is not None:
            return {
                "action": "GUARDRAIL_INTERVENED",
                "outputs": [{"text": self.masked}],
                "assessments": [
                    {"sensitiveInformationPolicy": {"piiEntities": [{"type": "NAME", "action": "ANONYMIZED"}]}}
                ],
            }
        return {"action": "NONE", "outputs": [], "assessments": []}


class Counter:
    """A metrics sink that keeps (name, cause, stage) in call order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def count(self, name: str, *, cause: str, stage: str) -> None:
        self.events.append((name, cause, stage))


class Lines:
    """A logger that keeps each call's message, positional arguments and keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((msg, args, kwargs))

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The ``safety`` record of every call (KeyError if a call has none)."""
        return [kwargs["extra"]["safety"] for _, _, kwargs in self.calls]


class InlineExecutor(Executor):
    """Runs each submitted check at once on the calling thread: results and clock reads in a fixed order."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the chain as a pool would
            future.set_exception(exc)
        return future


class Clock:
    """Stands in for the chain module's ``time``: ``perf_counter`` returns the given readings in turn."""

    def __init__(self, *readings: float) -> None:
        self._readings = list(readings)

    def perf_counter(self) -> float:
        if not self._readings:
            raise AssertionError("the chain read the clock more often than expected")
        return self._readings.pop(0)

    @property
    def unread(self) -> int:
        return len(self._readings)


def settings(**overrides: Any) -> SafetySettings:
    """No guardrail, no recognizer, no classifier, toxicity on HATE_SPEECH >= 0.5, unless overridden."""
    base: dict[str, Any] = {"toxicity": {"thresholds": {"HATE_SPEECH": 0.5}}}
    base.update(overrides)
    return SafetySettings.model_validate(base)


def chain(
    safety: SafetySettings,
    comprehend: Any = None,
    bedrock: Any = None,
    *,
    inline: bool = True,
) -> tuple[SafetyChain, Counter, Lines]:
    counter, lines = Counter(), Lines()
    built = SafetyChain(
        safety,
        SafetyClients(comprehend if comprehend is not None else Comprehend(), bedrock),
        logger=lines,
        metrics=counter,
        executor=InlineExecutor() if inline else None,
    )
    return built, counter, lines

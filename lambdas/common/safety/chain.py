"""The safety chain: local checks first, AWS checks concurrently, one logged and counted decision.

Input:  validation -> prefilter -> denied terms (all local, stop at the first block), then
        DetectToxicContent, the custom classifier, the custom entity recognizer and ApplyGuardrail
        side by side in a thread pool, so the added latency is the slowest of them, not the sum.
Output: denied terms, then toxicity, PII redaction, entities and ApplyGuardrail concurrently; the
        returned text has PII replaced by ``[TYPE]`` (on top of any guardrail anonymization).

Every decision is one structured log line (check names, causes, rule and label names, timings,
sizes; never the text or a matched span) and metrics by cause: ``SafetyBlocked`` (cause =
validation, prefilter, toxicity, entity, guardrail), ``SafetyRedacted`` (pii) and
``SafetyCheckErrors``. A check that fails or times out blocks, unless ``fail_open`` is set.

The chain object is built once per container (it owns the thread pool) and takes its clients,
logger and metrics sink as arguments; nothing here reads the environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Protocol

from common.safety.entities import check_entities, match_denied_terms
from common.safety.guardrail import apply_guardrail
from common.safety.injection import scan
from common.safety.pii import redact_pii
from common.safety.policy import Cause, SafetySettings, Stage
from common.safety.result import CheckResult, Redaction, apply_redactions
from common.safety.toxicity import check_custom_toxicity, check_toxicity
from common.safety.validation import validate_payload

Check = Callable[[], CheckResult]


class MetricsSink(Protocol):
    def count(self, name: str, *, cause: str, stage: Stage) -> None: ...


class DecisionLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


class PowertoolsMetricsSink:
    """One EMF metric per event with ``cause`` and ``stage`` dimensions (Powertools `single_metric`)."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self._namespace = namespace
        self._dimensions = {"service": service} if service else None

    def count(self, name: str, *, cause: str, stage: Stage) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415 - from the layer

        with single_metric(
            name=name, unit=MetricUnit.Count, value=1, namespace=self._namespace, default_dimensions=self._dimensions
        ) as metric:
            metric.add_dimension(name="cause", value=cause)
            metric.add_dimension(name="stage", value=stage)


@dataclass(frozen=True)
class SafetyClients:
    """boto3 clients, created once per container: ``comprehend`` and ``bedrock-runtime``."""

    comprehend: Any = None
    bedrock_runtime: Any = None


@dataclass(frozen=True)
class Decision:
    stage: Stage
    allowed: bool
    text: str
    causes: tuple[Cause, ...]
    reasons: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    latency_ms: float


class SafetyChain:
    def __init__(
        self,
        settings: SafetySettings,
        clients: SafetyClients,
        *,
        logger: DecisionLogger,
        metrics: MetricsSink,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self._logger = logger
        self._metrics = metrics
        self._executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="safety")

    # ------------------------------------------------------------------ input

    def screen_input(self, payload: Any) -> Decision:
        """Validate, prefilter and check a request body ``{"text": ..., "format": ...}``."""
        started = time.perf_counter()
        s = self.settings
        validation = validate_payload(payload, s.limits)
        local = [
            CheckResult(
                check="validation",
                cause="validation",
                blocked=not validation.ok,
                reasons=validation.reasons or validation.changes,
            )
        ]
        if validation.ok:
            verdict = scan(validation.text, s.injection.threshold)
            local.append(
                CheckResult(
                    check="prefilter",
                    cause="prefilter",
                    blocked=verdict.flagged,
                    reasons=verdict.reasons,
                    scores={"score": verdict.score},
                )
            )
        if validation.ok and not local[-1].blocked:
            local.append(match_denied_terms(validation.text, s.entities))
        if any(r.blocked for r in local):
            return self._decide("input", "", local, started, size=_size(payload))

        text = validation.text
        remote = self._comprehend_checks(text)
        bedrock = self.clients.bedrock_runtime
        if s.guardrail.apply_on_input:
            remote["guardrail"] = ("guardrail", lambda: apply_guardrail(text, "INPUT", s.guardrail, bedrock))
        results = [*local, *self.run_concurrently(remote)]
        guarded = next((r.text for r in results if r.check == "guardrail" and r.text is not None), text)
        return self._decide("input", guarded, results, started, size=len(text))

    def _comprehend_checks(self, text: str) -> dict[str, tuple[Cause, Check]]:
        """The Comprehend checks that screen input and output alike, keyed by check name."""
        s, comprehend = self.settings, self.clients.comprehend
        checks: dict[str, tuple[Cause, Check]] = {}
        if s.toxicity.enabled:
            checks["toxicity"] = ("toxicity", lambda: check_toxicity(text, s.toxicity, comprehend))
        if s.toxicity.classifier_endpoint_arn:
            checks["custom_toxicity"] = ("toxicity", lambda: check_custom_toxicity(text, s.toxicity, comprehend))
        if s.entities.endpoint_arn:
            checks["entities"] = ("entity", lambda: check_entities(text, s.entities, comprehend))
        return checks

    # ----------------------------------------------------------------- output

    def screen_output(self, text: str, *, grounding_source: Sequence[str] = (), query: str | None = None) -> Decision:
        """Check a model answer; the decision's ``text`` is what may be returned (PII redacted)."""
        started = time.perf_counter()
        s = self.settings
        if not isinstance(text, str) or not text.strip():
            empty = CheckResult(check="validation", cause="validation", blocked=True, reasons=("empty_output",))
            return self._decide("output", "", [empty], started, size=0)
        terms = match_denied_terms(text, s.entities)
        if terms.blocked:
            return self._decide("output", "", [terms], started, size=len(text))

        remote = self._comprehend_checks(text)
        comprehend, bedrock = self.clients.comprehend, self.clients.bedrock_runtime
        if s.pii.enabled:
            remote["pii"] = ("pii", lambda: redact_pii(text, s.pii, comprehend))
        if s.guardrail.apply_on_output:
            remote["guardrail"] = (
                "guardrail",
                lambda: apply_guardrail(
                    text, "OUTPUT", s.guardrail, bedrock, grounding_source=grounding_source, query=query
                ),
            )
        results = [terms, *self.run_concurrently(remote)]
        guarded = next((r.text for r in results if r.check == "guardrail" and r.text is not None), text)
        redactions = tuple(span for r in results for span in r.redactions)
        return self._decide("output", _redact(text, guarded, redactions), results, started, size=len(text))

    # ------------------------------------------------------------- machinery

    def run_concurrently(self, checks: Mapping[str, tuple[Cause, Check]]) -> list[CheckResult]:
        """Run independent checks in the pool; an exception or a timeout becomes an error result."""
        if not checks:
            return []
        futures = {name: self._executor.submit(_timed, fn) for name, (_, fn) in checks.items()}
        wait(futures.values(), timeout=self.settings.check_timeout_seconds)
        results: list[CheckResult] = []
        for name, future in futures.items():
            cause = checks[name][0]
            if not future.done():
                future.cancel()
                results.append(self._error(name, cause, "timeout"))
                continue
            try:
                result, elapsed = future.result()
            except Exception as exc:  # any failure of an AWS call or parsing
                results.append(self._error(name, cause, type(exc).__name__))
                continue
            results.append(_with_time(result, elapsed))
        return results

    def _error(self, name: str, cause: Cause, kind: str) -> CheckResult:
        return CheckResult(
            check=name, cause=cause, blocked=not self.settings.fail_open, reasons=(f"error:{kind}",), error=True
        )

    def _decide(self, stage: Stage, text: str, results: list[CheckResult], started: float, *, size: int) -> Decision:
        blocked = [r for r in results if r.blocked]
        causes: tuple[Cause, ...] = tuple(dict.fromkeys(r.cause for r in blocked))
        reasons = tuple(f"{r.check}:{reason}" for r in blocked for reason in r.reasons)
        decision = Decision(
            stage=stage,
            allowed=not blocked,
            text="" if blocked else text,
            causes=causes,
            reasons=reasons,
            checks=tuple(results),
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        self._record(decision, size)
        return decision

    def _record(self, decision: Decision, size: int) -> None:
        for cause in decision.causes:
            self._metrics.count("SafetyBlocked", cause=cause, stage=decision.stage)
        for result in decision.checks:
            if result.error:
                self._metrics.count("SafetyCheckErrors", cause=result.cause, stage=decision.stage)
            if result.redactions and decision.allowed:
                self._metrics.count("SafetyRedacted", cause=result.cause, stage=decision.stage)
        self._logger.info(
            "safety decision",
            extra={
                "safety": {
                    "stage": decision.stage,
                    "allowed": decision.allowed,
                    "causes": list(decision.causes),
                    "latency_ms": decision.latency_ms,
                    "chars": size,
                    "checks": [
                        {
                            "check": r.check,
                            "cause": r.cause,
                            "blocked": r.blocked,
                            "error": r.error,
                            "reasons": list(r.reasons),
                            "scores": r.scores,
                            "ms": r.elapsed_ms,
                        }
                        for r in decision.checks
                    ],
                }
            },
        )


def _timed(fn: Check) -> tuple[CheckResult, float]:
    started = time.perf_counter()
    result = fn()
    return result, round((time.perf_counter() - started) * 1000, 3)


def _with_time(result: CheckResult, elapsed_ms: float) -> CheckResult:
    return replace(result, elapsed_ms=elapsed_ms)


def _redact(original: str, guarded: str, redactions: tuple[Redaction, ...]) -> str:
    """PII spans found in ``original``, masked in ``guarded`` (the guardrail's anonymized text or the original)."""
    if not redactions:
        return guarded
    if guarded == original:
        return apply_redactions(original, redactions)
    # The guardrail rewrote the text, so offsets no longer apply: replace the spans' strings instead.
    out = guarded
    for span in sorted(redactions, key=lambda r: r.end - r.begin, reverse=True):
        secret = original[span.begin : span.end]
        if secret.strip():
            out = out.replace(secret, f"[{span.entity_type}]")
    return out


def _size(payload: Any) -> int:
    text = payload.get("text") if isinstance(payload, dict) else None
    return len(text) if isinstance(text, str) else 0

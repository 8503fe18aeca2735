"""rag: Retrieve on the knowledge base, every passage screened, then ConverseStream over the passages.

1. ``Retrieve`` with the checked user text as the query and ``retrieve_results`` results (vector search).
2. Every passage goes through `common.safety.passages.screen_passage` (indirect prompt injection in the corpus):
   a flagged segment is removed, or the whole passage is dropped when too much of it is flagged. Each flagged
   passage is counted per reason (metric ``PassageFlagged``, dimension ``cause``) and logged with its rank, source, the
   removed spans and the score; never its text.
3. The kept passages are numbered into the task's ``{{context}}`` (or the built-in grounded template), and the
   model answers through ConverseStream with the guardrail attached (`api.architectures.converse`).
4. The answer's citations are the kept passages: source URI and an excerpt of the screened text.

The passages are also yielded as `Context` so the output checks can use them as the grounding source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from common.safety.passages import PassagePolicy, screen_passage
from common.safety.sanitization import neutralize

from api.architectures.base import Context, Finish, ModelEvent, ModelTurn
from api.architectures.converse import ConverseModel, run_task, unavailable
from api.architectures.errors import chat_error
from api.architectures.sources import excerpt, source_of
from api.chat import Citation
from api.metrics import Counter
from api.prompts import PromptSource

FLAGGED_METRIC = "PassageFlagged"
MAX_QUERY_CHARS = 20_000  # Retrieve's retrievalQuery.text limit


class PassageLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class Passage:
    source: str
    text: str


def causes(cause: str) -> tuple[str, ...]:
    """The metric dimension values of a detector cause: each reason name once, without a score suffix
    (``"model:0.84, override_instructions"`` -> ``("model", "override_instructions")``), so the dimension
    stays low-cardinality."""
    names = (part.strip().split(":", 1)[0] for part in cause.split(","))
    return tuple(dict.fromkeys(name for name in names if name))


class RagArchitecture:
    name = "rag"

    def __init__(
        self,
        *,
        agent_runtime: Any,
        knowledge_base_id: str,
        model: ConverseModel,
        prompts: PromptSource,
        metrics: Counter,
        logger: PassageLogger,
        retrieve_results: int = 5,
        default_task: str | None = None,
        policy: PassagePolicy | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = agent_runtime
        self._kb = knowledge_base_id
        self._results = retrieve_results
        self._model = model
        self._prompts = prompts
        self._metrics = metrics
        self._logger = logger
        self._default_task = default_task
        self._policy = policy or PassagePolicy()
        self._clock = clock

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        started = self._clock()
        results = self.retrieve(turn.text)
        retrieved = self._clock()
        passages = self.screen(results)
        screened = self._clock()
        yield Context(tuple(p.text for p in passages))
        context = "\n".join(f"[{i}] {' '.join(p.text.split())}" for i, p in enumerate(passages, 1))
        citations = tuple(Citation(source=p.source, text=excerpt(p.text)) for p in passages)
        timings = {
            "retrieve": round((retrieved - started) * 1000, 3),
            "screen_passages": round((screened - retrieved) * 1000, 3),
        }
        task = turn.request.task or self._default_task
        for event in run_task(self._model, self._prompts, task, turn, context=context or None):
            if isinstance(event, Finish):
                yield replace(event, citations=citations, timings_ms={**timings, **event.timings_ms})
            else:
                yield event

    def retrieve(self, query: str) -> list[dict[str, Any]]:
        try:
            response = self._client.retrieve(
                knowledgeBaseId=self._kb,
                retrievalQuery={"text": query[:MAX_QUERY_CHARS]},
                retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": self._results}},
            )
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return list(response.get("retrievalResults", []))

    def screen(self, results: list[dict[str, Any]]) -> list[Passage]:
        """The passages that may reach the model: screened, sanitized, empty ones left out."""
        kept: list[Passage] = []
        for rank, result in enumerate(results, 1):
            text = result.get("content", {}).get("text") or ""
            source = source_of(result.get("location"), fallback=str(result.get("documentId", "")))
            if not text.strip():
                continue
            verdict = screen_passage(text, self._policy)
            if verdict.cause is not None:
                for cause in causes(verdict.cause):
                    self._metrics.count(FLAGGED_METRIC, cause=cause)
                self._logger.info(
                    "passage flagged",
                    extra={
                        "passage": {
                            "rank": rank,
                            "source": source,
                            "cause": verdict.cause,
                            "score": verdict.score,
                            "removed": [list(span) for span in verdict.removed],
                            "dropped": verdict.text is None,
                            "chars": len(text),
                        }
                    },
                )
            if verdict.text is None or not verdict.text.strip():
                continue
            kept.append(Passage(source=source, text=neutralize(verdict.text).text))
        return kept

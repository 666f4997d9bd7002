"""Grounded /chat answers: the taxonomy's passages in the prompt, and the sources in the answer.

The index (``grounding.index.TaxonomyIndex``) is refreshed when the app starts and again before a grounded question
when the last check is more than ``RECHECK`` seconds old, so a leaf added with ``edubot taxonomy add`` is
answerable in the next question, without a restart; an unchanged taxonomy costs a few stat calls. Index work runs
in a thread, never in the event loop. A taxonomy that cannot be indexed turns grounding off with one log line:
the chat keeps answering.

With ``grounding_holdout`` K the index leaves the last K Q&A pairs of every knowledge context out (a separate index
file), so ``edubot eval --holdout K`` asks questions whose own text the model is not handed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import EdubotError
from ...grounding.budget import PassageBudget
from ...grounding.prompt import grounded_messages, grounded_system, retrieval_query
from ...grounding.select import relevant
from ...safety.scope import ScopeCheck, check_scope, scope_topics, within
from ...taxonomy.model import KNOWLEDGE

if TYPE_CHECKING:
    from ...config import Settings
    from ...grounding.index import TaxonomyIndex
    from ...grounding.sources import Source

RECHECK = 1.0
"""Seconds between checks of the taxonomy for changes (a check reads only file sizes and times)."""
log = logging.getLogger("edubot.server")


@dataclass(frozen=True)
class Grounded:
    """What a grounded question sends (``messages``), answers with (``sources``) and is checked against
    (``material``: each source's number and whole text)."""

    messages: list[dict[str, str]]
    sources: list[Source]
    material: list[tuple[int, str]]
    scope: ScopeCheck | None = None
    """Whether the question is covered by the passages found (``safety.scope``), when it was asked."""

    def source_dicts(self) -> list[dict[str, Any]]:
        return [source.to_dict() for source in self.sources]


class Grounding:
    """The taxonomy index behind one app (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.taxonomy_path)
        self.setting = settings.grounding
        self.top_k = settings.grounding_top_k
        self.budget = PassageBudget(settings.grounding_budget_tokens or settings.context_length // 3)
        self.docs_dir = settings.grounding_docs_dir
        self.holdout = settings.grounding_holdout
        self._index: TaxonomyIndex | None = None
        self._checked = 0.0
        self._knowledge = False
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, ...], list[str]] = {}

    @property
    def default(self) -> bool:
        """Whether /chat grounds a question that does not say: the ``grounding`` setting, else whether the
        taxonomy has knowledge."""
        return self.setting if self.setting is not None else self._knowledge

    def system_message(self, system_prompt: str | None) -> str:
        """The system message grounded requests carry (for the engine's prompt cache warm-up)."""
        return grounded_system(system_prompt)

    def refresh(self) -> None:
        """Open (once) and refresh the index now; failures turn grounding off with a log line."""
        with self._lock:
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        if self.setting is False:
            return
        try:
            if self._index is None:
                if not self.root.is_dir():
                    raise EdubotError(f"the taxonomy folder {self.root} does not exist")
                from ...grounding.index import TaxonomyIndex

                self._index = TaxonomyIndex(self.root, holdout=self.holdout, docs_dir=self.docs_dir)
            report = self._index.refresh()
            if report.read or report.removed or report.rebuilt:
                self._topics.clear()
            self._knowledge = report.passages.get(KNOWLEDGE, 0) > 0 or bool(
                self._index.counts().get(KNOWLEDGE)
            )
            for finding in report.skipped:
                log.warning("grounding: skipped %s", finding)
        except EdubotError as exc:
            log.warning("grounding is off: %s", exc.message)
            self._knowledge = False
        self._checked = time.monotonic()

    def _ground(
        self,
        system_prompt: str | None,
        history: Sequence[Mapping[str, str]],
        question: str,
        subtrees: Sequence[str] = (),
        scope: bool = False,
    ) -> Grounded | None:
        with self._lock:
            if time.monotonic() - self._checked > RECHECK:
                self._refresh_locked()
            index = self._index
            if index is None:
                return None
            query = retrieval_query(question, history)
            found = index.retrieve(query, self.top_k * 3 if subtrees else self.top_k)
            passages = relevant(within(found, subtrees)[: self.top_k])
            checked = check_scope(index, question, passages) if scope else None
        prompt = grounded_messages(system_prompt, history, question, passages, self.budget.take(), query)
        return Grounded(prompt.messages, prompt.sources, prompt.material, checked)

    async def ground(
        self,
        system_prompt: str | None,
        history: Sequence[Mapping[str, str]],
        question: str,
        subtrees: Sequence[str] = (),
        scope: bool = False,
    ) -> Grounded | None:
        """The grounded messages and their sources, or None when there is no index to answer from. A class's
        ``subtrees`` (taxonomy folders) limit the passages to theirs; ``scope`` also checks whether the passages
        cover the question (``Grounded.scope``)."""
        return await asyncio.to_thread(self._ground, system_prompt, history, question, subtrees, scope)

    def _topics_of(self, subtrees: tuple[str, ...]) -> list[str]:
        with self._lock:
            found = self._topics.get(subtrees)
            if found is None:
                found = self._topics[subtrees] = scope_topics(self.root, subtrees)
            return found

    async def topics(self, subtrees: Sequence[str] = ()) -> list[str]:
        """The knowledge topics a scope covers (``safety.scope.scope_topics``), read once per taxonomy change."""
        return await asyncio.to_thread(self._topics_of, tuple(subtrees))

"""One ``Source`` from retrieval to the wire to the terminal: the API schema describes exactly its fields, and what
``/chat`` sends is what the chat reads back."""

from __future__ import annotations

import dataclasses

from edubot_cli.grounding.sources import Source, sources_from_json
from edubot_cli.server.api.schemas import SourceInfo


def test_the_api_schema_describes_the_one_source() -> None:
    assert list(SourceInfo.model_fields) == [f.name for f in dataclasses.fields(Source)]


def test_what_chat_sends_the_chat_reads_and_saves_without_the_score() -> None:
    sent = Source(
        2, "knowledge/botany/plants/qna.yaml", 7, "seed_examples[0].context", "Botany: Roots…", "Roots", 9.5
    )
    wire = sent.to_dict()
    SourceInfo.model_validate(wire)  # the documented shape
    assert sources_from_json([wire]) == [sent]
    saved = sent.to_json()
    assert "score" not in saved
    assert sources_from_json([saved]) == [dataclasses.replace(sent, score=None)]
    assert sent.citation == "[2] Botany: Roots… — knowledge/botany/plants/qna.yaml:7"
    assert sources_from_json([{**wire, "n": "2"}]) is None and sources_from_json({"n": 1}) is None

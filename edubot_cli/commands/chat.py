"""`edubot chat`."""

from __future__ import annotations

import typer

from ..chat import TEMPERATURE_RANGE
from ..config import describe
from ._common import api_key_option, local_option, max_tokens_option, one_target, settings, url_option


def chat(
    ctx: typer.Context,
    question: str | None = typer.Option(
        None, "--question", "-q", help="Ask one question, print only the answer and exit."
    ),
    url: str | None = url_option(describe("url")),
    engine_url: str | None = typer.Option(
        None,
        "--engine-url",
        help="Talk straight to an OpenAI-compatible engine at this URL instead of the backend.",
    ),
    api_key: str | None = api_key_option(),
    local: bool = local_option(
        "Start the embedded CPU engine and a backend (grounded on the taxonomy) for this session only."
    ),
    system: str | None = typer.Option(None, "--system", help="System prompt for this conversation."),
    temperature: float | None = typer.Option(
        None,
        "--temperature",
        min=TEMPERATURE_RANGE[0],
        max=TEMPERATURE_RANGE[1],
        help="Sampling temperature (default: the temperature setting).",
    ),
    max_tokens: int | None = max_tokens_option(
        None, "Longest answer in tokens (default: the max_tokens setting)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model name to ask for (default: what the server serves)."
    ),
    plain: bool = typer.Option(
        False,
        "--plain",
        help="Print answers as raw text, not markdown (automatic when output is not a terminal).",
    ),
) -> None:
    """Chat with the model in the terminal, with answers streamed as markdown.

    Talks to the backend (`edubot serve`) or, with --engine-url, to any OpenAI-compatible engine.

    Type /help in the chat for its commands (/save, /load, /retry, /temp, ...).

    Examples:

        edubot chat

        edubot chat -q "What is photosynthesis?"

        echo "Explain fractions to a 10 year old" | edubot chat --plain

        edubot chat --local --temperature 0.2
    """
    from ..chat.runner import ChatOptions, run_chat

    one_target(local, engine_url=engine_url, url=url)
    options = ChatOptions(
        engine_url=engine_url,
        api_key=api_key,
        local=local,
        question=question,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        plain=plain,
        model=model,
    )
    run_chat(settings(ctx, url=url), options)

"""`edubot serve`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..config import describe
from ..console import rich_console
from ._common import settings as load

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from ..engines.base import Engine


class _ConsoleObserver:
    """Renders the serve flow: engine and log path, a spinner with elapsed time, then the URL."""

    def __init__(self, console: Console, ready_timeout: float) -> None:
        self.console = console
        self.ready_timeout = ready_timeout
        self.status: Status | None = None
        self.empty_taxonomy: str | None = None
        """What to say after the URL when the taxonomy has no leaf yet."""
        self.network: list[str] = []
        """The URLs students type, when the backend listens beyond this machine."""

    def engine_started(self, engine: Engine) -> None:
        from rich.markup import escape

        self.console.print(f"[bold]engine[/] {engine.name}: {escape(engine.model)}")
        if engine.log_path is not None:
            self.console.print(f"[dim]engine log: {escape(str(engine.log_path))}[/]")
        self.status = self.console.status(f"waiting for {engine.name} to load the model")
        self.status.start()

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        if self.status is not None:
            self.status.update(
                f"waiting for {engine.name} to load the model… {elapsed:.0f} s (timeout {self.ready_timeout:g} s)"
            )

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        self.close()
        if engine.log_path is not None:
            self.console.print(f"[green]✅ engine ready[/] in {elapsed:.1f} s at {engine.urls[0]}")

    def backend_ready(self, url: str) -> None:
        self.console.print(
            f"[bold green]edubot is serving at {url}[/]  (web chat, /chat, /v1, /docs; Ctrl-C stops)"
        )
        if self.network:
            self.console.print(
                "students on this network open: " + "  or  ".join(self.network), markup=False, highlight=False
            )
        if self.empty_taxonomy is not None:
            self.console.print(self.empty_taxonomy, markup=False, highlight=False, style="yellow")

    def engine_status(self, status: str, detail: str) -> None:
        from rich.markup import escape

        style = {"ok": "green", "restarting": "yellow"}.get(status, "red")
        self.console.print(f"[{style}]{escape(detail)}[/]")

    def engine_log(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, style="dim")

    def stopping(self, engine: Engine) -> None:
        self.close()
        if engine.log_path is not None:
            self.console.print(f"stopping the {engine.name} engine…")

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def serve(
    ctx: typer.Context,
    model: Path | None = typer.Option(None, "--model", "-m", help=describe("model")),
    engine: str | None = typer.Option(
        None,
        "--engine",
        "-e",
        help="Engine: auto, llama-cpp, vllm, transformers or external (default: auto).",
    ),
    engine_url: list[str] | None = typer.Option(
        None, "--engine-url", help=describe("engine_urls") + " Repeat for several; implies --engine external."
    ),
    host: str | None = typer.Option(None, "--host", help=describe("host")),
    port: int | None = typer.Option(None, "--port", "-p", help=describe("port")),
    engine_port: int | None = typer.Option(None, "--engine-port", help=describe("engine_port")),
    ready_timeout: float | None = typer.Option(None, "--ready-timeout", help=describe("ready_timeout")),
    engine_log: bool = typer.Option(
        False, "--engine-log", help="Show the engine's output live (it is always logged)."
    ),
    context_length: int | None = typer.Option(None, "--context-length", help=describe("context_length")),
    threads: int | None = typer.Option(None, "--threads", "-t", help=describe("threads")),
    parallel: int | None = typer.Option(None, "--parallel", help=describe("parallel")),
    max_queue: int | None = typer.Option(None, "--max-queue", help=describe("max_queue")),
    served_model_name: str | None = typer.Option(
        None, "--served-model-name", help=describe("served_model_name")
    ),
    gpu_memory_utilization: float | None = typer.Option(
        None, "--gpu-memory-utilization", help=describe("gpu_memory_utilization")
    ),
    dtype: str | None = typer.Option(None, "--dtype", help=describe("dtype")),
    tensor_parallel_size: int | None = typer.Option(
        None, "--tensor-parallel-size", help=describe("tensor_parallel_size")
    ),
    pipeline_parallel_size: int | None = typer.Option(
        None, "--pipeline-parallel-size", help=describe("pipeline_parallel_size")
    ),
    engine_args: list[str] | None = typer.Argument(
        None,
        metavar="ENGINE_ARGS",
        help=describe("engine_args") + " Put them after `--`.",
        show_default=False,
    ),
) -> None:
    """Serve the chatbot: start an engine, then the backend with the web chat page, JSON API and OpenAI /v1.

    With no --model, the embedded SmolLM2 is served on CPU by llama.cpp's llama-server (all physical cores).
    Up to --parallel requests run at once; up to --max-queue more wait in line. An engine that dies is restarted.
    Arguments after `--` go to the engine unchanged. Ctrl-C (or SIGTERM) stops the backend and the engine.

    Examples:

      edubot serve

      edubot serve --model models/my-bot --engine vllm --tensor-parallel-size 2

      edubot serve --engine-url http://gpu1:8001 --engine-url http://gpu2:8001 --host 0.0.0.0

      edubot serve --model bot.gguf --parallel 32 --context-length 1024

      edubot serve -- --temp 0.2
    """
    from ..project_init import empty_taxonomy_note
    from ..serving import network_urls
    from ..serving import serve as run

    settings = load(
        ctx,
        model=model,
        engine=engine,
        engine_urls=engine_url or None,
        host=host,
        port=port,
        engine_port=engine_port,
        ready_timeout=ready_timeout,
        context_length=context_length,
        threads=threads,
        parallel=parallel,
        max_queue=max_queue,
        served_model_name=served_model_name,
        gpu_memory_utilization=gpu_memory_utilization,
        dtype=dtype,
        tensor_parallel_size=tensor_parallel_size,
        pipeline_parallel_size=pipeline_parallel_size,
        engine_args=engine_args or None,
    )
    console = rich_console()
    observer = _ConsoleObserver(console, settings.ready_timeout)
    observer.empty_taxonomy = empty_taxonomy_note(settings.taxonomy_path)
    observer.network = network_urls(settings.host, settings.port)
    try:
        outcome = run(settings, observer, show_log=engine_log)
    finally:
        observer.close()
    console.print(f"edubot stopped ({outcome.reason}); no engine process left running")

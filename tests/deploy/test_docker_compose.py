"""configs/docker: the compose file's wiring, ports and health checks (no Docker engine runs here)."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from edubot_cli.config import FIELDS
from edubot_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "configs" / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def options(args: list[str]) -> dict[str, str]:
    """``--key=value`` arguments as a mapping."""
    pairs = [arg[2:].split("=", 1) for arg in args if arg.startswith("--")]
    assert all(len(pair) == 2 for pair in pairs), args
    return dict(pairs)  # type: ignore[arg-type]


def test_two_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"vllm", "backend"}


def test_engine_is_not_published(compose: dict[str, Any]) -> None:
    vllm = compose["services"]["vllm"]
    assert "ports" not in vllm
    assert vllm["expose"] == ["8000"]
    assert vllm["networks"] == ["engine"]
    assert compose["networks"]["engine"] == {"internal": True}


def test_engine_serves_on_its_exposed_port_with_the_backend_model_name(compose: dict[str, Any]) -> None:
    flags = options(compose["services"]["vllm"]["command"])
    assert flags["host"] == "0.0.0.0"
    assert flags["port"] == "8000"
    assert flags["served-model-name"] == FIELDS["served_model_name"][0] == "edubot"
    assert flags["model"].startswith("/models/")
    assert "../../models:/models:ro" in compose["services"]["vllm"]["volumes"]
    gpus = compose["services"]["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpus == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_backend_talks_to_the_engine_service(compose: dict[str, Any]) -> None:
    backend = compose["services"]["backend"]
    assert backend["command"][0] == "serve"
    flags = options(backend["command"][1:])
    assert flags == {
        "engine": "external",
        "engine-url": "http://vllm:8000",
        "host": "0.0.0.0",
        "port": "8000",
    }
    assert backend["depends_on"] == {"vllm": {"condition": "service_healthy"}}
    assert set(backend["networks"]) == {"engine", "public"}
    assert compose["networks"]["public"] in ({}, None)


def test_backend_is_the_published_port(compose: dict[str, Any]) -> None:
    (mapping,) = compose["services"]["backend"]["ports"]
    host, container = mapping.rsplit(":", 1)
    assert container == options(compose["services"]["backend"]["command"][1:])["port"]
    assert host == "${EDUBOT_PORT:-8000}"


@pytest.mark.parametrize("service", ["vllm", "backend"])
def test_health_checks_probe_health_on_the_service_port(compose: dict[str, Any], service: str) -> None:
    check = compose["services"][service]["healthcheck"]
    assert check["test"][0] == "CMD"
    code = check["test"][-1]
    compile(code, f"{service} healthcheck", "exec")
    assert re.search(r"urlopen\('http://127\.0\.0\.1:8000/health'", code)
    for key in ("interval", "timeout", "retries", "start_period"):
        assert key in check
    assert check["retries"] >= 3


def test_engine_gets_minutes_to_load(compose: dict[str, Any]) -> None:
    assert compose["services"]["vllm"]["healthcheck"]["start_period"] == "600s"


def test_backend_command_is_a_valid_edubot_invocation(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from edubot_cli import serving

    seen: dict[str, Any] = {}

    def capture(settings: Any, observer: Any, show_log: bool = False) -> serving.ServeOutcome:
        seen.update(engine=settings.engine, urls=settings.engine_urls, host=settings.host, port=settings.port)
        return serving.ServeOutcome("backend exited", "external")

    monkeypatch.setattr(serving, "serve", capture)
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("EDUBOT_")]:
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, compose["services"]["backend"]["command"])
    assert result.exit_code == 0, result.output
    assert seen == {"engine": "external", "urls": ["http://vllm:8000"], "host": "0.0.0.0", "port": 8000}


def test_backend_image_installs_the_backend_extra_and_runs_edubot() -> None:
    text = (DOCKER / "Dockerfile.backend").read_text()
    assert 'pip install ".[backend]"' in text
    assert 'ENTRYPOINT ["edubot"]' in text
    for line in text.splitlines():
        if line.startswith("COPY "):
            *sources, _ = shlex.split(line)[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
    ignore = [
        line
        for line in (DOCKER / "Dockerfile.backend.dockerignore").read_text().splitlines()
        if line[:1] not in "#"
    ]
    assert ignore[:4] == ["**", "!pyproject.toml", "!README.md", "!edubot_cli/"]


def test_backend_extra_is_part_of_the_serve_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["backend"]) <= set(extras["serve"])


def test_vllm_image_uses_the_api_server_entry_point() -> None:
    text = (DOCKER / "Dockerfile.vllm").read_text()
    assert re.search(r"^ARG VLLM_IMAGE=vllm/vllm-openai:v\d+\.\d+\.\d+$", text, re.M)
    assert 'ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]' in text

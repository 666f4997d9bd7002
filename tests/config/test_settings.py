"""Settings load defaults < config file < EDUBOT_* environment < flags, typed, with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edubot_cli.config import FIELDS, Settings, describe, load_settings
from edubot_cli.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("EDUBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no configs/edubot.yaml here


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    s = load_settings()
    assert s.port == 8000
    assert s.host == "127.0.0.1"
    assert s.taxonomy_path == Path("taxonomy")
    assert s.model is None
    assert s.engine_urls == []
    assert s.allow_system_prompt_override is False


def test_precedence_file_env_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "port: 9001\nhost: 0.0.0.0\nmax_tokens: 100\ntemperature: 0.2\n")
    s = load_settings(cfg)
    assert (s.port, s.host, s.max_tokens, s.temperature) == (9001, "0.0.0.0", 100, 0.2)
    monkeypatch.setenv("EDUBOT_PORT", "9002")
    monkeypatch.setenv("EDUBOT_MAX_TOKENS", "200")
    s = load_settings(cfg)
    assert (s.port, s.host, s.max_tokens) == (9002, "0.0.0.0", 200)
    s = load_settings(cfg, port=9003, max_tokens=None)
    assert (s.port, s.max_tokens, s.temperature) == (9003, 200, 0.2)


def test_the_embedded_model_by_name_is_the_default_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(model=Path("embedded")).model is None
    assert load_settings(model=Path("SmolLM2")).model is None
    monkeypatch.setenv("EDUBOT_MODEL", "embedded")
    assert load_settings().model is None
    monkeypatch.delenv("EDUBOT_MODEL")
    assert load_settings(_write(tmp_path / "c.yaml", "model: smollm2\n")).model is None
    # A file or folder of that name is what the user means.
    (tmp_path / "embedded").mkdir()
    assert load_settings(model=Path("embedded")).model == Path("embedded")
    assert load_settings(model=Path("models/embedded")).model == Path("models/embedded")


def test_default_file_is_configs_edubot_yaml(tmp_path: Path) -> None:
    _write(tmp_path / "configs" / "edubot.yaml", "served_model_name: tutor\n")
    assert load_settings().served_model_name == "tutor"


def test_env_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = _write(tmp_path / "other.yaml", "port: 7000\n")
    monkeypatch.setenv("EDUBOT_CONFIG", str(cfg))
    assert load_settings().port == 7000


def test_env_list_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_ENGINE_URLS", '["http://a:1", "http://b:2"]')
    assert load_settings().engine_urls == ["http://a:1", "http://b:2"]


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "prot: 9000\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.message == f"{cfg}: unknown config key 'prot'"
    assert info.value.hint is not None and "port" in info.value.hint


def test_bad_value_names_key_and_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "port: eighty\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.message.startswith(f"invalid setting 'port' (from {cfg}): ")
    assert info.value.hint == describe("port")

    monkeypatch.setenv("EDUBOT_TEMPERATURE", "3")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.message == (
        "invalid setting 'temperature' (from EDUBOT_TEMPERATURE): Input should be less than or equal to 2"
    )

    monkeypatch.delenv("EDUBOT_TEMPERATURE")
    with pytest.raises(ConfigError) as info:
        load_settings(max_tokens=0)
    assert info.value.message == (
        "invalid setting 'max_tokens' (from command-line flag): Input should be greater than or equal to 1"
    )


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "port: 8000\nhost: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert re.fullmatch(rf"{re.escape(str(cfg))}:3:1: invalid YAML: .+", info.value.message)


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"port: 8000\nhost: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.message == f"{cfg}: not UTF-8 text (byte 20 is 0xe9)"
    assert info.value.hint == "save the config file as UTF-8"


def test_unreadable_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(tmp_path / "c.yaml", "port: 8000\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.message == f"cannot read config file {cfg}: Permission denied"


def test_source_of_a_bad_value_from_the_default_layer_names_it() -> None:
    from edubot_cli.config import _source

    assert _source("port", {}, None, {}) == "default"
    assert _source("port", {"port": 1}, Path("c.yaml"), {"port": 2}) == "command-line flag"
    assert _source("port", {}, Path("c.yaml"), {"port": 2}) == "c.yaml"


def test_config_must_be_a_mapping(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "- port\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert info.value.message == f"{cfg}: the config file must be a mapping of keys to values"


def test_empty_config_file_means_defaults(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", "# nothing\n")
    assert load_settings(cfg).port == 8000


def test_missing_config_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "missing.yaml")
    assert info.value.message == f"config file not found: {tmp_path / 'missing.yaml'}"
    monkeypatch.setenv("EDUBOT_CONFIG", str(tmp_path / "gone.yaml"))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.message == f"config file not found: {tmp_path / 'gone.yaml'} (from EDUBOT_CONFIG)"


def test_every_field_is_typed_and_described() -> None:
    assert set(Settings.__annotations__) == set(FIELDS)
    for name, (_, description) in FIELDS.items():
        assert description.endswith("."), name


def test_shipped_config_documents_every_key_with_its_default() -> None:
    text = (ROOT / "configs" / "edubot.yaml").read_text(encoding="utf-8")
    keys = re.findall(r"^# ([a-z_]+): ", text, flags=re.M)
    assert keys == list(FIELDS)
    for name, (_, description) in FIELDS.items():
        assert f"# {description}\n# {name}: " in text
    # Uncommenting every key gives exactly the defaults.
    import yaml

    values = yaml.safe_load(
        "\n".join(line[2:] for line in text.splitlines() if re.match(r"# [a-z_]+: ", line))
    )
    defaults = load_settings().model_dump()
    assert load_settings(**values).model_dump() == defaults


def test_readme_configuration_table_matches() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| `[^`]*` \| (.+) \|$", readme, flags=re.M)
    documented = {name: desc.replace("\\|", "|") for name, desc in rows if name in FIELDS}
    assert documented == {name: d for name, (_, d) in FIELDS.items()}


def test_real_cli_reports_bad_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = _write(tmp_path / "c.yaml", "port: 99999\n")
    out = subprocess.run(
        [sys.executable, "-m", "edubot_cli", "--config", str(cfg), "doctor"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert out.returncode == 1
    assert out.stderr == (
        f"error: invalid setting 'port' (from {cfg}): Input should be less than or equal to 65535\n"
        f"hint: {describe('port')}\n"
    )

"""The llama-server build: CPU profiles, the CPU check, finding and reusing a build (the compile itself runs in
`make install`; the binary it made is checked here for instructions other CPUs lack)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edubot_cli.engines import llama_build as build
from edubot_cli.errors import EngineError, MissingDependencyError, UsageError
from edubot_cli.procgroup import group_members

V3_FLAGS = {"avx", "avx2", "fma", "f16c", "bmi2", "sse4_2"}


def test_the_default_x86_profile_is_x86_64_v3_with_every_switch_stated() -> None:
    profile = build.default_profile("x86_64")
    assert profile.name == "x86-64-v3"
    command = build.cmake_command(Path("src"), Path("out"), profile)
    assert command[:5] == ["cmake", "-S", "src", "-B", "out"]
    assert "-DGGML_NATIVE=OFF" in command
    on = sorted(flag for flag in command if flag.endswith("=ON"))
    assert on == [
        "-DGGML_AVX2=ON",
        "-DGGML_AVX=ON",
        "-DGGML_BMI2=ON",
        "-DGGML_F16C=ON",
        "-DGGML_FMA=ON",
        "-DGGML_SSE42=ON",
    ]
    for never in ("AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AVX_VNNI", "AMX_TILE", "AMX_INT8"):
        assert f"-DGGML_{never}=OFF" in command
    assert not any("native" in flag.lower() and not flag.endswith("=OFF") for flag in command)


def test_each_architecture_has_a_default_and_unknown_ones_are_refused() -> None:
    assert build.default_profile("aarch64").cmake_flags == ("-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16",)
    with pytest.raises(UsageError) as info:
        build.default_profile("riscv64")
    assert info.value.message == "no CPU profile for the riscv64 architecture"
    with pytest.raises(UsageError) as info:
        build.profile_named("x86-64-v4")
    assert info.value.message == "unknown CPU profile 'x86-64-v4' (from --cpu)"
    assert info.value.hint == "choose one of: x86-64-v3, x86-64-v2, armv8.2-a"


def test_cpu_flags_come_from_proc_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert build.cpu_flags(cpuinfo) == {"fpu", "sse4_2", "avx", "avx2"}
    assert build.cpu_flags(tmp_path / "missing") is None


def test_a_cpu_without_avx2_is_told_which_profile_to_build() -> None:
    with pytest.raises(EngineError) as info:
        build.check_cpu(build.PROFILES["x86-64-v3"], {"sse4_2", "avx"}, arch="x86_64")
    assert info.value.message == (
        "this CPU lacks avx2, fma, f16c, bmi2, which the x86-64-v3 build of llama-server needs"
    )
    assert info.value.hint == (
        "build for this CPU with `edubot engine build --force --cpu x86-64-v2` (or `make engine "
        "LLAMA_CPU=x86-64-v2`)"
    )
    build.check_cpu(build.PROFILES["x86-64-v3"], V3_FLAGS, arch="x86_64")  # fine
    build.check_cpu(build.PROFILES["x86-64-v3"], None, arch="x86_64")  # cannot tell: not refused


def test_a_build_for_another_architecture_is_refused() -> None:
    with pytest.raises(EngineError) as info:
        build.check_cpu(build.PROFILES["armv8.2-a"], set(), arch="x86_64")
    assert (
        info.value.message == "the llama-server build is for aarch64 (armv8.2-a), and this machine is x86_64"
    )
    assert info.value.hint == "rebuild it here: `edubot engine build --force`"


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An empty environment prefix and cache folder."""
    prefix, cache = tmp_path / "venv", tmp_path / "cache"
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(cache))
    return prefix, cache


def test_nothing_built_is_one_error_with_the_build_command(places: tuple[Path, Path]) -> None:
    with pytest.raises(EngineError) as info:
        build.find_binary(None)
    assert info.value.message == "llama-server (the embedded CPU engine) is not built yet"
    assert info.value.hint == (
        "run `make install`, or `edubot engine build` (about 7 minutes on 2 cores, once per version)"
    )


def test_a_configured_binary_must_be_executable(tmp_path: Path) -> None:
    plain = tmp_path / "llama-server"
    plain.write_text("not a program")
    with pytest.raises(EngineError) as info:
        build.find_binary(plain)
    assert info.value.message == f"llama_server is set to {plain}, which is not an executable file"
    plain.chmod(0o755)
    assert build.find_binary(plain) == (plain, None)


def _cached_build(cache: Path, profile: str = "x86-64-v3") -> Path:
    folder = cache / "llama-server" / build.SOURCE_VERSION / profile
    folder.mkdir(parents=True)
    binary = folder / "llama-server"
    binary.write_bytes(b"\x7fELF built once")
    binary.chmod(0o755)
    info = {
        "version": build.SOURCE_VERSION,
        "profile": profile,
        "arch": "x86_64",
        "cmake_flags": [],
        "seconds": 1,
    }
    (folder / "llama-server.json").write_text(json.dumps(info))
    return binary


def test_a_cached_build_is_reused_and_copied_into_the_environment(places: tuple[Path, Path]) -> None:
    prefix, cache = places
    cached = _cached_build(cache)
    log = prefix / "build.log"
    built = build.build(build.PROFILES["x86-64-v3"], log=log, cpu=V3_FLAGS)
    assert (built.reused, built.cached, built.binary) == (True, cached, prefix / "bin" / "llama-server")
    assert built.binary.read_bytes() == b"\x7fELF built once"
    assert os.access(built.binary, os.X_OK)
    assert build.BuildInfo.read(built.binary) == build.BuildInfo(
        build.SOURCE_VERSION, "x86-64-v3", "x86_64", [], 1
    )
    assert not log.exists()  # nothing was run
    assert build.find_binary(None)[0] == built.binary


def test_the_cached_build_is_found_when_the_environment_has_no_copy(places: tuple[Path, Path]) -> None:
    _, cache = places
    cached = _cached_build(cache)
    assert build.find_binary(None)[0] == cached


def test_building_without_a_toolchain_says_what_to_install(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, _ = places
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "cmake" else f"/usr/bin/{tool}")
    with pytest.raises(MissingDependencyError) as info:
        build.build(build.PROFILES["x86-64-v3"], log=prefix / "build.log", cpu=V3_FLAGS)
    assert info.value.message == "building llama-server needs cmake, which cannot be found on PATH"
    assert (
        info.value.hint
        == "install a C/C++ toolchain and cmake, e.g. `apt-get install -y build-essential cmake`"
    )


def test_a_build_step_logs_its_command_and_output_and_reports_each_line(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    lines: list[str] = []
    command = [sys.executable, "-c", "print('configuring'); print('done \\xe9')"]
    build._run(command, log, lines.append, "cmake configure")
    assert lines == ["configuring", "done \xe9"]
    assert log.read_text() == "$ " + subprocess.list2cmdline(command) + "\nconfiguring\ndone \xe9\n"


def test_a_failed_build_step_names_the_step_and_the_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with pytest.raises(EngineError) as info:
        build._run([sys.executable, "-c", "raise SystemExit(3)"], log, lambda line: None, "cmake build")
    assert info.value.message == "cmake build failed with exit code 3"
    assert info.value.hint == f"the full output is in {log}"


def test_an_interrupted_build_step_stops_its_whole_process_group(tmp_path: Path) -> None:
    """Ctrl-C during a build stops the step and every process it started (the compilers of ``cmake --build``)."""
    step = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print(os.getpid(), child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    seen: list[str] = []
    groups: list[list[int]] = []

    def interrupt(line: str) -> None:
        seen.append(line)
        groups.append(group_members(int(line.split()[0])))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build._run([sys.executable, "-c", step], tmp_path / "build.log", interrupt, "cmake build")
    leader, child = (int(pid) for pid in seen[0].split())
    assert sorted(groups[0]) == sorted([leader, child])
    assert group_members(leader) == []


def test_the_default_build_is_refused_on_a_cpu_that_could_not_run_it(places: tuple[Path, Path]) -> None:
    prefix, cache = places
    with pytest.raises(EngineError, match="this CPU lacks avx, avx2, fma, f16c, bmi2, which"):
        build.build(build.PROFILES["x86-64-v3"], log=prefix / "build.log", cpu={"sse4_2"})
    assert not cache.exists()  # refused before anything was downloaded or built


def test_a_build_this_cpu_cannot_run_is_refused_before_it_starts(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cache = places
    cached = _cached_build(cache)
    monkeypatch.setattr(build, "cpu_flags", lambda: {"sse4_2"})
    with pytest.raises(EngineError, match="this CPU lacks avx, avx2, fma, f16c, bmi2, which"):
        build.runnable_binary(None)
    monkeypatch.setattr(build, "cpu_flags", lambda: V3_FLAGS)
    assert build.runnable_binary(None) == cached


@pytest.mark.engine
def test_the_installed_engine_holds_no_avx512_or_amx_instructions() -> None:
    binary, info = build.find_binary(None)
    assert info is not None and (info.version, info.profile) == (build.SOURCE_VERSION, "x86-64-v3")
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    assert len(listing) > 1_000_000  # a real disassembly
    for instruction in ("tilezero", "ldtilecfg", "tdpbssd", "vpdpbusd"):
        assert f"\t{instruction}" not in listing
    assert "%zmm" not in listing  # no AVX-512 register anywhere
    assert "%ymm" in listing  # AVX2 is there


@pytest.mark.engine
def test_engine_build_reuses_the_build_in_a_second(tmp_path: Path) -> None:
    edubot = Path(sys.executable).with_name("edubot")
    result = subprocess.run(
        [str(edubot), "engine", "build"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(build.installed_binary())
    assert "reused the build" in result.stderr
    assert f"({build.SOURCE_PACKAGE} {build.SOURCE_VERSION}, x86-64-v3:" in result.stderr
    assert "embedded model SmolLM2-135M-Instruct.Q8_0.gguf ready" in result.stderr  # stored as Q8_0 before

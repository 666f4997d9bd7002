"""llama.cpp's ``llama-server``: built portably from a pinned source, once, and found again at run time.

The source is the llama.cpp that the ``llama-cpp-python`` sdist vendors (it installs through PyPI, pinned by
version and hash below). The build never targets "this CPU" (``GGML_NATIVE=OFF``): each architecture has named
CPU profiles with explicit instruction sets, and the default profile is one every machine of its kind from the
last decade runs (on x86-64: x86-64-v3, i.e. AVX2/FMA/F16C/BMI2, no AVX-512, no AMX). A build is kept in edubot's
cache folder under the pinned version and the profile, so later installs (a new venv, ``make clean``) reuse it,
and a copy goes into the active environment's ``bin/``, where ``edubot serve`` looks first. What was built, and
how, is recorded in ``llama-server.json`` beside each copy.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineError, MissingDependencyError, UsageError
from ..fileio import cache_dir, write_atomic
from ..launch import launch
from ..procgroup import stop_group, terminations_raise

SOURCE_PACKAGE = "llama-cpp-python"
SOURCE_VERSION = "0.3.36"
SOURCE_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
"""The sdist whose ``vendor/llama.cpp`` is built (llama.cpp's ggml 0.25.3)."""
BINARY = "llama-server"
STOP_GRACE = 5.0
"""Seconds an interrupted build step gets after SIGTERM, before SIGKILL."""

# Never "this CPU" (GGML_NATIVE stays OFF), and every instruction-set switch stated, so a newer compiler or cmake
# default cannot slip AVX-512 or AMX in.
_COMMON = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DGGML_CCACHE=OFF",
)
_X86_NEVER = (
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX512_VBMI=OFF",
    "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
)


@dataclass(frozen=True)
class CpuProfile:
    """A named instruction-set level for one architecture."""

    name: str
    arch: str
    """``platform.machine()`` of the machines it is for."""
    cmake_flags: tuple[str, ...]
    cpu_flags: tuple[str, ...]
    """Flags ``/proc/cpuinfo`` must list for the build to run."""
    note: str


PROFILES: dict[str, CpuProfile] = {
    profile.name: profile
    for profile in (
        CpuProfile(
            "x86-64-v3",
            "x86_64",
            (
                "-DGGML_SSE42=ON",
                "-DGGML_AVX=ON",
                "-DGGML_AVX2=ON",
                "-DGGML_FMA=ON",
                "-DGGML_F16C=ON",
                "-DGGML_BMI2=ON",
                *_X86_NEVER,
            ),
            ("avx", "avx2", "fma", "f16c", "bmi2"),
            "AVX2/FMA/F16C/BMI2: Intel since 2013 (Haswell), AMD since 2015",
        ),
        CpuProfile(
            "x86-64-v2",
            "x86_64",
            (
                "-DGGML_SSE42=ON",
                "-DGGML_AVX=OFF",
                "-DGGML_AVX2=OFF",
                "-DGGML_FMA=OFF",
                "-DGGML_F16C=OFF",
                "-DGGML_BMI2=OFF",
                *_X86_NEVER,
            ),
            ("sse4_2",),
            "SSE4.2 only: for CPUs without AVX2 (several times slower)",
        ),
        CpuProfile(
            "armv8.2-a",
            "aarch64",
            ("-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16",),
            ("asimddp", "fphp"),
            "ARMv8.2 with dot product and fp16 (Graviton 2+, Ampere Altra, Raspberry Pi 5)",
        ),
    )
}
DEFAULT_PROFILE = {"x86_64": "x86-64-v3", "aarch64": "armv8.2-a"}


def machine() -> str:
    """This machine's architecture as ``PROFILES`` name it (amd64 and arm64 spelt the Linux way)."""
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def default_profile(arch: str | None = None) -> CpuProfile:
    """The profile built when ``--cpu`` is not given."""
    arch = arch or machine()
    name = DEFAULT_PROFILE.get(arch)
    if name is None:
        raise UsageError(
            f"no CPU profile for the {arch} architecture",
            hint=f"profiles exist for {', '.join(sorted(DEFAULT_PROFILE))}; or build llama-server yourself and "
            "set `llama_server` to its path",
        )
    return PROFILES[name]


def profile_named(name: str | None) -> CpuProfile:
    """The profile ``--cpu NAME`` asks for, or the default one for this machine."""
    if name is None:
        return default_profile()
    profile = PROFILES.get(name)
    if profile is None:
        raise UsageError(
            f"unknown CPU profile {name!r} (from --cpu)", hint=f"choose one of: {', '.join(PROFILES)}"
        )
    return profile


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The instruction-set flags of this CPU (None where ``/proc/cpuinfo`` does not say)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def missing_cpu_flags(profile: CpuProfile, flags: set[str] | None) -> list[str]:
    """What ``profile`` needs that this CPU lacks (nothing when the CPU cannot be read)."""
    if flags is None:
        return []
    return [flag for flag in profile.cpu_flags if flag not in flags]


def check_cpu(profile: CpuProfile, flags: set[str] | None, *, arch: str | None = None) -> None:
    """Raise ``EngineError`` when this CPU cannot run a ``profile`` build, naming the flag that fixes it."""
    arch = arch or machine()
    if profile.arch != arch:
        raise EngineError(
            f"the llama-server build is for {profile.arch} ({profile.name}), and this machine is {arch}",
            hint="rebuild it here: `edubot engine build --force`",
        )
    missing = missing_cpu_flags(profile, flags)
    if missing:
        others = [p.name for p in PROFILES.values() if p.arch == arch and not missing_cpu_flags(p, flags)]
        fix = (
            f"`edubot engine build --force --cpu {others[0]}` (or `make engine LLAMA_CPU={others[0]}`)"
            if others
            else "a llama-server of your own, named by the `llama_server` setting"
        )
        raise EngineError(
            f"this CPU lacks {', '.join(missing)}, which the {profile.name} build of llama-server needs",
            hint=f"build for this CPU with {fix}",
        )


def build_dir(profile: CpuProfile, root: Path | None = None) -> Path:
    """Where the build of ``profile`` for the pinned version lives."""
    return (root or cache_dir()) / "llama-server" / SOURCE_VERSION / profile.name


def installed_binary() -> Path:
    """The copy in the active environment's ``bin/`` (next to the ``edubot`` script)."""
    return Path(sys.prefix) / "bin" / BINARY


@dataclass(frozen=True)
class BuildInfo:
    """What ``build.json`` beside a binary records."""

    version: str
    profile: str
    arch: str
    cmake_flags: list[str]
    seconds: float

    @staticmethod
    def path(binary: Path) -> Path:
        """``llama-server.json`` beside ``llama-server``."""
        return binary.with_name(binary.name + ".json")

    @classmethod
    def read(cls, binary: Path) -> BuildInfo | None:
        try:
            data = json.loads(cls.path(binary).read_text())
            return cls(
                str(data["version"]),
                str(data["profile"]),
                str(data["arch"]),
                [str(flag) for flag in data["cmake_flags"]],
                float(data["seconds"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def cmake_command(source: Path, build: Path, profile: CpuProfile) -> list[str]:
    """The cmake configure command for ``profile``."""
    return ["cmake", "-S", str(source), "-B", str(build), *_COMMON, *profile.cmake_flags]


@dataclass(frozen=True)
class Built:
    """The outcome of ``build``."""

    binary: Path
    """The copy in the environment (what ``edubot serve`` runs)."""
    cached: Path
    """The build in the cache folder."""
    profile: CpuProfile
    reused: bool
    seconds: float


Progress = Callable[[str], None]


def _require_tools() -> None:
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        raise MissingDependencyError(
            f"building llama-server needs {', '.join(missing)}, which cannot be found on PATH",
            hint="install a C/C++ toolchain and cmake, e.g. `apt-get install -y build-essential cmake`",
        )


def _run(command: list[str], log: Path, progress: Progress, what: str) -> None:
    """Run one build step (pip, cmake) to the end, its output into ``log`` and each line to ``progress``.

    The step runs in a process group of its own (``launch.launch``): Ctrl-C, SIGTERM or SIGHUP stops all of it,
    every compiler it started included, before the interruption goes on."""
    with log.open("ab") as stream:
        try:
            proc = launch(command, stream)
        except OSError as exc:
            raise EngineError(f"cannot run {command[0]}: {exc.strerror}", hint=f"the log is {log}") from exc
        assert proc.stdout is not None
        try:
            with terminations_raise():
                for line in proc.stdout:
                    stream.write(line)
                    progress(line.decode("utf-8", errors="replace").rstrip())
                proc.wait()
        except KeyboardInterrupt:
            stop_group(proc, STOP_GRACE)
            raise
        finally:
            proc.stdout.close()
        if proc.returncode != 0:
            raise EngineError(
                f"{what} failed with exit code {proc.returncode}",
                hint=f"the full output is in {log}",
            )


def _fetch_source(work: Path, log: Path, progress: Progress) -> Path:
    """Download the pinned sdist (hash-checked by pip) and unpack its vendored llama.cpp; return that folder."""
    requirement = work / "requirement.txt"
    requirement.write_text(f"{SOURCE_PACKAGE}=={SOURCE_VERSION} --hash=sha256:{SOURCE_SHA256}\n")
    progress(f"downloading {SOURCE_PACKAGE} {SOURCE_VERSION} (source of llama.cpp)")
    # Only the source package is wanted as source: ":all:" would build its build dependencies from source too.
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", SOURCE_PACKAGE]
    _run(
        [*command, "--require-hashes", "-r", str(requirement), "-d", str(work)], log, progress, "pip download"
    )
    archive = next(work.glob("*.tar.gz"))
    prefix = f"{archive.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        tar.extractall(work, members=members, filter="data")
    archive.unlink()
    return work / prefix


def build(
    profile: CpuProfile,
    *,
    force: bool = False,
    jobs: int | None = None,
    log: Path,
    progress: Progress | None = None,
    root: Path | None = None,
    cpu: set[str] | None = None,
    explicit: bool = False,
) -> Built:
    """Build ``llama-server`` for ``profile`` (or reuse the cached build) and copy it into the environment.

    Without ``explicit`` (no ``--cpu``) the default profile must suit this CPU; an explicit profile may be built
    for other machines. ``log`` receives every command and its output.
    """
    say = progress or (lambda line: None)
    if not explicit:
        check_cpu(profile, cpu_flags() if cpu is None else cpu)
    target = build_dir(profile, root)
    cached = target / BINARY
    started = time.monotonic()
    reused = cached.is_file() and not force
    if not reused:
        _require_tools()
        target.parent.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="llama-build-", dir=target.parent) as tmp:
            work = Path(tmp)
            source = _fetch_source(work, log, say)
            say(f"configuring llama.cpp for {profile.name}")
            _run(cmake_command(source, work / "build", profile), log, say, "cmake configure")
            count = str(jobs or os.cpu_count() or 2)
            command = ["cmake", "--build", str(work / "build"), "--target", BINARY, "-j", count]
            _run(command, log, say, "cmake build")
            staged = work / "out"
            staged.mkdir()
            shutil.copy2(work / "build" / "bin" / BINARY, staged / BINARY)
            info = {
                "version": SOURCE_VERSION,
                "profile": profile.name,
                "arch": profile.arch,
                "cmake_flags": [*_COMMON, *profile.cmake_flags],
                "seconds": round(time.monotonic() - started, 1),
            }
            write_atomic(BuildInfo.path(staged / BINARY), json.dumps(info, indent=2) + "\n")
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
    binary = install_copy(cached)
    return Built(binary, cached, profile, reused, time.monotonic() - started)


def install_copy(cached: Path) -> Path:
    """Copy a cached build (and its ``build.json``) into the environment's ``bin/``, atomically."""
    binary = installed_binary()
    binary.parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((cached, binary), (BuildInfo.path(cached), BuildInfo.path(binary))):
        write_atomic(dest, source.read_bytes(), mode=0o755 if dest == binary else 0o644)
    return binary


def find_binary(configured: Path | None) -> tuple[Path, BuildInfo | None]:
    """The ``llama-server`` to run: the ``llama_server`` setting, else the environment's copy, else the cached
    build of the default profile. Raises ``EngineError`` with the build command when there is none."""
    if configured is not None:
        if not (configured.is_file() and os.access(configured, os.X_OK)):
            raise EngineError(
                f"llama_server is set to {configured}, which is not an executable file",
                hint="point it at a llama-server binary, or unset it to use the one `edubot engine build` makes",
            )
        return configured, BuildInfo.read(configured)
    for candidate in (installed_binary(), build_dir(default_profile()) / BINARY):
        if candidate.is_file():
            return candidate, BuildInfo.read(candidate)
    raise EngineError(
        "llama-server (the embedded CPU engine) is not built yet",
        hint="run `make install`, or `edubot engine build` (about 7 minutes on 2 cores, once per version)",
    )


def runnable_binary(configured: Path | None) -> Path:
    """``find_binary``, checked against this CPU when edubot built it (a profile this CPU cannot run is refused
    before it can die of SIGILL)."""
    binary, info = find_binary(configured)
    if info is not None and info.profile in PROFILES:
        check_cpu(PROFILES[info.profile], cpu_flags())
    return binary

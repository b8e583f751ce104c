# Sourced by the README's commands: makes .venv and installs the project into it once per change
# of pyproject.toml, so every later run starts in seconds.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

pick_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "provider-conformance needs Python 3.11 or newer on PATH (found none); install it and retry." >&2
    exit 2
}

if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv"
    "$(pick_python)" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "[setup] installing provider-conformance and its extras into .venv (first run takes a minute)"
    # This machine kind's pip configuration lists local mirrors that pip warns about on every package.
    .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v 'is ignored: it is neither' || true
    .venv/bin/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v 'is ignored: it is neither' || true
    .venv/bin/python -c 'import strands, providers, conformance' || {
        echo "[setup] installing the project into .venv failed; see the pip output above" >&2; exit 2; }
    rm -f .venv/.installed-*
    touch "$stamp"
fi
export PATH="$repo/.venv/bin:$PATH"

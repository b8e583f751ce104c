#!/usr/bin/env bash
# Debian packages the tests need beyond Python: Chromium, which loads the conformance matrix page in a
# real headless browser (tests/conformance/report/test_matrix_browser.py). Installs only what is missing, so a
# second run costs nothing; needs root (or sudo) and Debian's apt.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "[system-deps] missing ${missing[*]} and no apt-get on this machine: install them with your package manager" >&2
    exit 2
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "[system-deps] missing ${missing[*]}: run this script as root or install sudo" >&2; exit 2; }
    sudo_cmd=(sudo)
fi
echo "[system-deps] installing ${missing[*]} with apt-get (first run takes a minute or two)"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "[system-deps] chromium still missing after apt-get install" >&2; exit 2; }
echo "[system-deps] installed ${missing[*]}"

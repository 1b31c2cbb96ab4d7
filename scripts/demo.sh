#!/usr/bin/env bash
# The quick start's first command: the demo deploy against a local LocalStack on 127.0.0.1
# (installed on first use, started, and stopped afterwards). Arguments go to the demo binary:
# `demo` (default: plan, apply, plan again with no changes, outputs, destroy), `plan`, `apply`,
# `destroy`; `--outputs FILE` writes the outputs as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skyforge-target}"
# Model AWS's waits at 5% of their usual length (a NAT gateway is pending ~4.5 s), so the demo
# shows them; SKYFORGE_LATENCY_SCALE=0 turns that off.
export SKYFORGE_LATENCY_SCALE="${SKYFORGE_LATENCY_SCALE:-0.05}"
# Built the way the test suite builds it (same features), so running the tests afterwards does
# not rebuild the AWS SDK crates.
cargo test --workspace --no-run --quiet
# No arguments: the whole cycle (`demo`).
if [ $# -eq 0 ]; then set -- demo; fi
python3 integration-tests/emulator/emulator.py run -- "$CARGO_TARGET_DIR/debug/demo" "$@"

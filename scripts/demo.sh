#!/usr/bin/env bash
# The quick start's first command: a whole reference system deployed against a local LocalStack
# on 127.0.0.1 (installed on first use, started, and stopped afterwards unless it was already
# running). With no arguments: `dougust demo --stage dev` (seed 004: network with a NAT gateway
# per zone, Multi-AZ PostgreSQL, secrets, the NestJS service behind an ALB with autoscaling,
# alarms, a dashboard): plan, apply, plan again with no changes, outputs, cost, destroy.
#
# Otherwise the first argument may name the example binary (dougust, alva, delivery-app,
# fastify-monorepo, spendsense, demo, deploy_demo; default dougust) and the rest goes to it:
#   bash scripts/demo.sh plan --stage dev
#   bash scripts/demo.sh fastify-monorepo demo --stage staging
#   bash scripts/demo.sh demo apply          # the network-only demo binary
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skyforge-target}"
# Model AWS's waits at 5% of their usual length (a NAT gateway is pending ~4.5 s, the database
# ~24 s), so the demo shows them; SKYFORGE_LATENCY_SCALE=0 turns that off.
export SKYFORGE_LATENCY_SCALE="${SKYFORGE_LATENCY_SCALE:-0.05}"
# Built the way the test suite builds it (same features), so running the tests afterwards does
# not rebuild the AWS SDK crates.
cargo test --workspace --no-run --quiet
bin=dougust
case "${1:-}" in
  dougust | alva | delivery-app | fastify-monorepo | spendsense | demo | deploy_demo)
    bin=$1
    shift
    ;;
esac
if [ $# -eq 0 ]; then
  case "$bin" in
    dougust) set -- demo --stage dev ;;
    *) set -- demo ;;
  esac
fi
python3 integration-tests/emulator/emulator.py run -- "$CARGO_TARGET_DIR/debug/$bin" "$@"

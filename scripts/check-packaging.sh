#!/usr/bin/env bash
# Every library crate packages for a registry: its file list holds only the manifest, the lock
# file, the README and its sources and tests, and `cargo package` builds all of them (with the
# workspace's unpublished crates resolved locally). Examples and tests stay publish = false.
set -euo pipefail
cd "$(dirname "$0")/.."
libs=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] != [] and any("lib" in t["kind"] for t in p["targets"]):
        print(p["name"])')
for forbidden in skyforge-examples skyforge-integration-tests; do
  if grep -qx "$forbidden" <<<"$libs"; then
    echo "check-packaging: $forbidden must stay publish = false" >&2
    exit 1
  fi
done
count=0
for crate in $libs; do
  files=$(cargo package --list --allow-dirty -p "$crate" 2>/dev/null)
  stray=$(grep -Ev '^(Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|\.cargo_vcs_info\.json|src/.*|tests/.*)$' <<<"$files" || true)
  if [ -n "$stray" ]; then
    echo "check-packaging: $crate would publish stray files:" >&2
    echo "$stray" >&2
    exit 1
  fi
  grep -qx README.md <<<"$files" || { echo "check-packaging: $crate has no README.md" >&2; exit 1; }
  count=$((count + 1))
done
excludes=(--exclude skyforge-examples --exclude skyforge-integration-tests --exclude skyforge-bench)
cargo package --workspace "${excludes[@]}" --no-verify --allow-dirty --quiet
echo "check-packaging: $count library crates package cleanly (no stray files)"

#!/usr/bin/env bash
# Runs every test of the workspace on this machine: installs the system
# packages the build needs (idempotent), then `cargo test`.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p mcu-mixer`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
  set -- --workspace
fi
cargo test "$@"

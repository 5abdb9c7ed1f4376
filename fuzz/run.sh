#!/usr/bin/env bash
# Run every fuzz target for a bounded time (default 60 s each) and print
# the executions per target. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly   (already on the project's machines)
#   cargo install cargo-fuzz --locked
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Seed the corpus with the protocol's test vectors and the examples.
mkdir -p corpus/envelope corpus/json_view
for v in ../specs/vectors/*.json; do
  hex=$(sed -n 's/.*"envelope_hex": "\([0-9a-f]*\)".*/\1/p' "$v")
  [ -n "$hex" ] && echo -n "$hex" | xxd -r -p > "corpus/envelope/$(basename "$v" .json)"
  cp "$v" "corpus/json_view/$(basename "$v")"
done
for target in envelope json_view; do
  log=$(mktemp)
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -max_len=70000 2>&1 | tee "$log" | tail -n 3
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo "?")
  echo "{\"target\": \"$target\", \"seconds\": $seconds, \"runs\": \"$runs\"}"
done

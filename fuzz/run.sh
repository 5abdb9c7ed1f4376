#!/usr/bin/env bash
# Run every fuzz target for a bounded time and print one JSON line per
# target; exit non-zero when any target found a crash.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]    (default 60 s each, all targets)
#
# Toolchain: the stable toolchain without a sanitizer by default
# (cargo-fuzz's `-s none` needs no unstable flag: the coverage
# instrumentation and libFuzzer work on stable), so CI builds the same thing
# on every machine. FUZZ_SANITIZER=address adds AddressSanitizer: with the
# nightly toolchain when installed, else with stable and RUSTC_BOOTSTRAP=1.
# (The targets reach only Rust code, where unsafe is forbidden; ASan would
# matter for the C libraries — SQLite, libgit2 — which no target reaches.)
# FUZZ_TOOLCHAIN=stable|nightly overrides the choice. Builds have debug
# assertions on (overflow checks), and go to FUZZ_TARGET_DIR (default
# ~/.cache/essaim-fuzzrun-target).
#
# Corpora: fuzz/corpus/<target> (gitignored), seeded from real data on every
# run: the protocol's test vectors (specs/vectors), the publiccode.yml
# fixture suite (../shared/data/publiccode), example queries (seeds/search),
# sync frames and Negentropy messages made by the real encoder (the sync
# target writes them at start-up when ESSAIM_FUZZ_SEEDS is set), and the
# inputs that once crashed a target (regressions/<target>, replayed by
# `cargo test --workspace` too). Crashes go to fuzz/artifacts/<target>.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
all=(envelope json_view publiccode search sync)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/essaim-fuzzrun-target}"
export CARGO_TERM_COLOR=never
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}"
if [ -z "${FUZZ_TOOLCHAIN:-}" ]; then
  FUZZ_TOOLCHAIN=stable
  if [ "$FUZZ_SANITIZER" != none ] && rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ_TOOLCHAIN=nightly
  fi
fi
# -Zsanitizer on stable: allowed by RUSTC_BOOTSTRAP (stable ships the ASan runtime).
if [ "$FUZZ_SANITIZER" != none ] && [ "$FUZZ_TOOLCHAIN" != nightly ]; then
  export RUSTC_BOOTSTRAP=1
fi
fuzz=(cargo "+$FUZZ_TOOLCHAIN" fuzz)
flags=(-s "$FUZZ_SANITIZER" --debug-assertions)

# Seeds.
shared=../../shared/data/publiccode
for t in "${all[@]}"; do mkdir -p "corpus/$t" "regressions/$t"; done
for v in ../specs/vectors/*.json; do
  name=$(basename "$v" .json)
  hex=$(sed -n 's/.*"envelope_hex": "\([0-9a-f]*\)".*/\1/p' "$v")
  [ -n "$hex" ] && echo -n "$hex" | xxd -r -p >"corpus/envelope/vector-$name"
  cp "$v" "corpus/json_view/vector-$name.json"
  [ -n "$hex" ] && echo -n "$hex" | xxd -r -p >"corpus/json_view/vector-$name"
done
if [ -d "$shared" ]; then
  find "$shared" -name '*.yml' | while read -r f; do
    cp "$f" "corpus/publiccode/fixture-$(basename "$(dirname "$f")")-$(basename "$f")"
  done
else
  echo "warning: $shared is missing; the publiccode corpus starts from its regressions only" >&2
fi
cp seeds/search/* corpus/search/

start=$(date +%s)
"${fuzz[@]}" build "${flags[@]}" >&2
echo "{\"build_seconds\": $(($(date +%s) - start)), \"toolchain\": \"$FUZZ_TOOLCHAIN\", \"sanitizer\": \"$FUZZ_SANITIZER\"}"

status=0
for t in "${targets[@]}"; do
  mkdir -p "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  log="artifacts/$t.log"
  rc=0
  # The sync and envelope targets write their encoder-made seeds at start-up.
  ESSAIM_FUZZ_SEEDS="$PWD/corpus/$t" "${fuzz[@]}" run "${flags[@]}" "$t" \
    "corpus/$t" "regressions/$t" -- \
    -max_total_time="$seconds" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
  stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$log" | tail -n 1; }
  runs=$(stat number_of_executed_units)
  speed=$(stat average_exec_per_sec)
  rss=$(stat peak_rss_mb)
  corpus=$(find "corpus/$t" -type f | wc -l)
  crashes=$(($(find "artifacts/$t" -type f | wc -l) - before))
  if ((rc != 0)) && ((crashes == 0)); then crashes=1; fi
  if ((crashes > 0)); then
    status=1
    echo "fuzz target $t failed (exit $rc); the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
  fi
  echo "{\"target\": \"$t\", \"seconds\": $seconds, \"runs\": ${runs:-0}, \"execs_per_s\": ${speed:-0}, \"corpus\": $corpus, \"peak_rss_mb\": ${rss:-0}, \"crashes\": $crashes, \"toolchain\": \"$FUZZ_TOOLCHAIN\", \"sanitizer\": \"$FUZZ_SANITIZER\"}"
done
exit "$status"

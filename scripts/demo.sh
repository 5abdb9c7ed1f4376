#!/usr/bin/env bash
# Essaim demo, for a fresh machine: builds the `essaim` command, creates a
# hub in a temporary data directory, signs every example initiative written
# in French (examples/), and verifies each signed record.
#
# Until the node lands (store, search, web UI, federation), this is what
# Essaim does end to end: signed records that any node can check byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "error: cargo is missing: install Rust with rustup (https://rustup.rs), then run this again" >&2
  exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/essaim-target}"
echo "==> building essaim (release; the first build takes a few minutes)"
cargo build --release --locked -p essaim
essaim="$CARGO_TARGET_DIR/release/essaim"

hub="$(mktemp -d)/ruche-lyon"
echo
echo "==> essaim init --data-dir $hub --name \"Ruche Lyon Part-Dieu\" --kind ruche --territory dep:69"
"$essaim" init --data-dir "$hub" --name "Ruche Lyon Part-Dieu" --kind ruche --territory dep:69

out="$hub/signed"
mkdir -p "$out"
for draft in examples/*.toml examples/*.yaml examples/*.json; do
  name="$(basename "${draft%.*}")"
  echo
  echo "==> essaim sign $draft  →  $out/$name.json"
  "$essaim" sign "$draft" --data-dir "$hub" --out "$out/$name.json"
  echo "==> essaim verify $out/$name.json"
  "$essaim" verify "$out/$name.json"
done

echo
echo "==> one character of the signed payload changed: the record is refused"
perl -pe 's/("payload": ".{99})(.)/$1.($2 eq "A" ? "B" : "A")/e' \
  "$out/epicerie-solidaire-lyon.json" > "$out/altered.json"
if "$essaim" verify "$out/altered.json"; then
  echo "error: an altered record verified" >&2
  exit 1
fi
echo
echo "Done. The hub is in $hub; signed records are in $out."

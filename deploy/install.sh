#!/bin/sh
# Install an Essaim hub on a Debian (or Debian-like) machine: the `essaim`
# binary, the `essaim` system user, the data directory, the hub itself
# (`essaim init`, once), and the systemd unit. Safe to run again: it upgrades
# the binary and the unit, and never touches an existing hub's key or
# configuration. Used as is by the Dockerfile (--no-systemd --no-init).
# See deploy/README.md.
set -eu

usage() {
    cat <<'EOF'
Usage: install.sh [OPTIONS]

Install an Essaim hub: binary, system user, data directory, hub key and
configuration (once), systemd unit. Run as root. Running it again upgrades
the binary and the unit and keeps the hub.

Options:
  --binary PATH      the essaim binary to install [default: build it from this
                     checkout with `cargo build --release --locked -p essaim`]
  --name NAME        the hub's name, for `essaim init` (first install only)
  --kind KIND        the hub's kind (ruche, incubateur, reseau, collectivite…)
  --territory CODE   a territory of the hub (repeatable): FR, reg:84, dep:69
  --data-dir DIR     the data directory [default: /var/lib/essaim]
  --user USER        the system user that runs the node [default: essaim]
  --no-init          do not create the hub (the Docker image does it at start)
  --no-systemd       do not install the systemd unit
  --no-start         install and enable the unit, but do not (re)start it
  --no-apt           do not install missing packages (git) with apt-get
  -h, --help         this help

Environment: DESTDIR-free; BINDIR [default: /usr/local/bin],
UNITDIR [default: /etc/systemd/system].
EOF
}

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}

say() {
    echo "install.sh: $*"
}

here=$(cd "$(dirname "$0")" && pwd)
binary=""
name=""
kind=""
territories=""
data_dir=/var/lib/essaim
user=essaim
init=yes
systemd=yes
start=yes
apt=yes
bindir=${BINDIR:-/usr/local/bin}
unitdir=${UNITDIR:-/etc/systemd/system}

need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then
        die "$1 needs a value (see --help)"
    fi
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --binary) need_value "$@"; binary=$2; shift 2 ;;
        --name) need_value "$@"; name=$2; shift 2 ;;
        --kind) need_value "$@"; kind=$2; shift 2 ;;
        --territory) need_value "$@"; territories="$territories $2"; shift 2 ;;
        --data-dir) need_value "$@"; data_dir=$2; shift 2 ;;
        --user) need_value "$@"; user=$2; shift 2 ;;
        --no-init) init=no; shift ;;
        --no-systemd) systemd=no; shift ;;
        --no-start) start=no; shift ;;
        --no-apt) apt=no; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option \`$1\` (see --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "run as root (e.g. \`sudo $0 $*\`): it creates a system user and installs into $bindir"
case "$data_dir" in
    /*) ;;
    *) die "--data-dir must be an absolute path, not \`$data_dir\`" ;;
esac

# 1. The binary.
if [ -z "$binary" ]; then
    repo=$(cd "$here/.." && pwd)
    [ -f "$repo/Cargo.toml" ] || die "no --binary given and $repo is not an Essaim checkout"
    command -v cargo >/dev/null 2>&1 || die "no --binary given and no \`cargo\` to build one: install Rust (https://rustup.rs) or pass --binary PATH"
    say "building the binary (cargo build --release --locked -p essaim; 10-20 min the first time)"
    (cd "$repo" && cargo build --release --locked -p essaim) || die "the build failed (see above)"
    target=${CARGO_TARGET_DIR:-$repo/target}
    binary=$target/release/essaim
fi
[ -f "$binary" ] || die "--binary $binary: no such file"
[ -x "$binary" ] || die "--binary $binary: not executable (chmod +x it)"
version=$("$binary" --version 2>/dev/null) || die "$binary does not run on this machine (\`$binary --version\` failed): build it here, or for this architecture and libc"
install -d -m 0755 "$bindir"
# Through a temporary name and a rename: a running node keeps its old
# binary until it restarts.
install -m 0755 "$binary" "$bindir/.essaim.new"
mv -f "$bindir/.essaim.new" "$bindir/essaim"
say "installed $bindir/essaim ($version)"

# 2. git (mirrors) and the user.
if ! command -v git >/dev/null 2>&1; then
    if [ "$apt" = yes ] && command -v apt-get >/dev/null 2>&1; then
        say "installing git (mirrors need it)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates >/dev/null \
            || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates >/dev/null; } \
            || die "could not install git with apt-get: install it yourself, or pass --no-apt and set mirror.enabled = false"
    else
        say "warning: no git on this machine: mirrors will not work until it is installed (or set mirror.enabled = false)"
    fi
fi
if id -u "$user" >/dev/null 2>&1; then
    say "user $user exists"
else
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/bin/false
    useradd --system --user-group --home-dir "$data_dir" --no-create-home \
        --shell "$nologin" --comment "Essaim hub node" "$user" \
        || die "could not create the system user $user"
    say "created system user $user"
fi

# 3. The data directory and the hub.
install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$data_dir"
as_user() {
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
        env HOME="$data_dir" ESSAIM_HOME="$data_dir" "$@"
}
if [ -f "$data_dir/hub.key" ]; then
    say "hub already created in $data_dir (key kept)"
elif [ "$init" = yes ]; then
    set -- init --data-dir "$data_dir"
    [ -n "$name" ] && set -- "$@" --name "$name"
    [ -n "$kind" ] && set -- "$@" --kind "$kind"
    for t in $territories; do set -- "$@" --territory "$t"; done
    as_user "$bindir/essaim" "$@" || die "essaim init failed (see above); fix it and run install.sh again"
else
    say "no hub in $data_dir yet (--no-init)"
fi

# 4. The systemd unit.
if [ "$systemd" = yes ]; then
    install -d -m 0755 "$unitdir"
    unit=$unitdir/essaim.service
    sed -e "s#/usr/local/bin/essaim#$bindir/essaim#" \
        -e "s#^User=essaim#User=$user#" -e "s#^Group=essaim#Group=$(id -gn "$user")#" \
        -e "s#/var/lib/essaim#$data_dir#g" \
        "$here/essaim.service" > "$unit.new"
    if [ "$data_dir" != /var/lib/essaim ]; then
        # StateDirectory= names a directory under /var/lib only.
        sed -i -e "s#^StateDirectory=.*#ReadWritePaths=$data_dir#" -e "/^StateDirectoryMode=/d" "$unit.new"
    fi
    chmod 0644 "$unit.new"
    mv -f "$unit.new" "$unit"
    say "installed $unit"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl daemon-reload
        systemctl enable essaim.service >/dev/null 2>&1 || die "systemctl enable essaim failed"
        if [ "$start" = yes ]; then
            if [ ! -f "$data_dir/hub.key" ]; then
                say "not starting: no hub yet (run \`essaim init --data-dir $data_dir\` as $user first)"
            else
                systemctl restart essaim.service || die "the node did not start: see \`journalctl -u essaim -e\` and run \`runuser -u $user -- essaim doctor --data-dir $data_dir\`"
                say "started essaim.service (logs: journalctl -u essaim -f)"
            fi
        fi
    else
        say "systemd is not running here: start the node with \`systemctl enable --now essaim\` once it is, or run \`essaim run --data-dir $data_dir\` as $user"
    fi
fi

say "done. Check the installation with: runuser -u $user -- env ESSAIM_HOME=$data_dir $bindir/essaim doctor"

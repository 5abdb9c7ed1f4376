#!/bin/sh
# Entry point of the Essaim image: create the hub on the first start (its
# key is made here, in the volume, never in the image), then run `essaim`
# with the container's command (default `run`; `docker run … essaim-image
# doctor` runs the checks instead).
#   ESSAIM_INIT_NAME, ESSAIM_INIT_KIND, ESSAIM_INIT_TERRITORIES (space-separated)
# describe the hub for that first start.
set -eu
: "${ESSAIM_HOME:=/var/lib/essaim}"
export ESSAIM_HOME

init_hub() {
    set -- init
    [ -n "${ESSAIM_INIT_NAME:-}" ] && set -- "$@" --name "$ESSAIM_INIT_NAME"
    [ -n "${ESSAIM_INIT_KIND:-}" ] && set -- "$@" --kind "$ESSAIM_INIT_KIND"
    for t in ${ESSAIM_INIT_TERRITORIES:-}; do set -- "$@" --territory "$t"; done
    essaim "$@"
}

if [ ! -f "$ESSAIM_HOME/hub.key" ]; then
    init_hub
fi
[ "$#" -gt 0 ] || set -- run
exec essaim "$@"

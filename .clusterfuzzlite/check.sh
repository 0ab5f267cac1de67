#!/usr/bin/env bash
# Offline check of the ClusterFuzzLite setup (no Docker, no network): the
# workflow files parse and use the ClusterFuzzLite actions as documented, and
# the build files build from the checkout (.clusterfuzzlite/check_workflows.py).
# That .clusterfuzzlite/build.sh builds every harness is checked by
# oss-fuzz/check.sh, which builds through it; it runs this script too.
#
#   .clusterfuzzlite/check.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Debian's python3 with python3-yaml (a pyenv python3 on PATH may lack PyYAML).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if ! "$PY" -c 'import yaml' 2>/dev/null; then
    echo "== installing python3-yaml (to parse the workflow files)"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -q python3-yaml >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3-yaml >/dev/null; }
    else
        echo "!! PyYAML is missing: apt-get install python3-yaml (as root)" >&2
        exit 1
    fi
    PY=/usr/bin/python3
fi
exec "$PY" "$HERE/check_workflows.py"

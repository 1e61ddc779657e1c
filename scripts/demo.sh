#!/usr/bin/env bash
# Install ncpasswords into .venv, create a fresh embedded SQLite instance under ./demo and run the
# main job against it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
export NEXTCLOUD_CONFIG_DIR="$PWD/demo/config"
rm -rf demo
occ() { .venv/bin/occ "$@"; }
set -x
occ maintenance:install --database sqlite --data-dir "$PWD/demo/data"
occ status
occ migrations:status passwords

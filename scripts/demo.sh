#!/usr/bin/env bash
# Install ncpasswords into .venv, create a fresh embedded SQLite instance under ./demo and run the
# main job against it: sample data in, a backup out, list it, restore it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
export NEXTCLOUD_CONFIG_DIR="$PWD/demo/config"
rm -rf demo
occ() { .venv/bin/occ "$@"; }
set -x
occ maintenance:install --database sqlite --data-dir "$PWD/demo/data"
occ dev:sample-backup demo/sample.json.gz --size S          # 1000 passwords, 3 users, shares, tags
occ passwords:backup:import demo/sample.json.gz
occ -n passwords:backup:restore sample                      # load the sample data
occ passwords:backup:create demo-backup
occ passwords:backup:list --details
occ passwords:backup:verify demo-backup                     # the file is whole and its keys open the data
occ -n passwords:backup:restore demo-backup
occ status

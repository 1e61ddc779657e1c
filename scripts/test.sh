#!/usr/bin/env bash
# Set up the virtualenv (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
# Two workers: much of a test's time is spent waiting on the database servers; a test file stays
# on one worker (module fixtures such as the clusters start once).
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"

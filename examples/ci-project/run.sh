#!/usr/bin/env bash
# Run the example CI project's tests on every engine the plugin supports:
#
#   sqlite        an embedded SQLite instance per test (no server)
#   pgsql-proc    pytest-postgresql's postgresql_proc starts a PostgreSQL server of its own from
#                 the machine's binaries (pg_config --bindir), for this run only
#   pgsql-noproc  pytest-postgresql's postgresql_noproc uses the running server
#                 ($NCP_CI_PGSQL_HOST:$NCP_CI_PGSQL_PORT as $NCP_CI_PGSQL_USER, default 127.0.0.1:5432 postgres)
#   mysql         the MariaDB/MySQL server at $NCP_CI_MYSQL_DSN (default mysql://root@127.0.0.1:3306)
#
# Usage: run.sh [MODE...] [-- PYTEST-ARGS...]   (no MODE: all four, one after the other)
# Python: $PYTHON, else the project's .venv, else python3. Exit status: 0 when every mode passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then python=$repo/.venv/bin/python; else python=python3; fi
fi

modes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    sqlite|pgsql-proc|pgsql-noproc|mysql) modes+=("$1"); shift ;;
    *) echo "run.sh: unknown mode '$1' (use sqlite, pgsql-proc, pgsql-noproc, mysql)" >&2; exit 2 ;;
  esac
done
[ ${#modes[@]} -gt 0 ] || modes=(sqlite pgsql-proc pgsql-noproc mysql)

pg_host=${NCP_CI_PGSQL_HOST:-127.0.0.1}
pg_port=${NCP_CI_PGSQL_PORT:-5432}
pg_user=${NCP_CI_PGSQL_USER:-postgres}
mysql_dsn=${NCP_CI_MYSQL_DSN:-mysql://root@127.0.0.1:3306}
# Names of pytest-postgresql's own template database, unique per run so parallel runs never meet.
run_id="ncp_ci_$$"

cd "$here"
export PYTHONDONTWRITEBYTECODE=1
proc_tmp=
trap 'if [ -n "${proc_tmp:-}" ]; then rm -rf "$proc_tmp"; fi' EXIT
failed=()
for mode in "${modes[@]}"; do
  case "$mode" in
    sqlite) args=(--passwords-engine=sqlite) ;;
    pgsql-proc)
      # pg_ctl runs as another user when we are root (bin/pg_ctl), and that user must reach the
      # server's data folder under pytest's temporary folder for as long as the server runs. The
      # shared /tmp/pytest-of-<user> is no place for that: every pytest session that starts
      # takes away other users' access to it. So this run gets a temporary folder of its own.
      proc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ncp-ci-proc.XXXXXX")
      chmod 711 "$proc_tmp"
      args=(--passwords-engine=pgsql --passwords-postgresql=proc "--basetemp=$proc_tmp/pytest"
            "--postgresql-exec=$here/bin/pg_ctl" "--postgresql-dbname=${run_id}_proc") ;;
    pgsql-noproc) args=(--passwords-engine=pgsql --passwords-postgresql=noproc "--postgresql-host=$pg_host"
                        "--postgresql-port=$pg_port" "--postgresql-user=$pg_user"
                        "--postgresql-dbname=${run_id}_noproc") ;;
    mysql) args=(--passwords-engine=mysql "--passwords-mysql-dsn=$mysql_dsn") ;;
  esac
  echo "== example CI project: $mode"
  if ! "$python" -m pytest -p no:cacheprovider "${args[@]}" "$@"; then
    failed+=("$mode")
  fi
  if [ -n "${proc_tmp:-}" ]; then
    rm -rf "$proc_tmp"
    proc_tmp=
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "example CI project FAILED on: ${failed[*]}" >&2
  exit 1
fi
echo "example CI project passed on: ${modes[*]}"

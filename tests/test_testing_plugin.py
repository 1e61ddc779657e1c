"""The pytest plugin (ncpasswords.testing.plugin) and the example CI project that uses it.

The example project runs in a subprocess through its own run.sh on SQLite here (including its
fifty-tests-one-restore case); docs/ci-fixtures.md runs it in all four modes (SQLite, PostgreSQL
through postgresql_proc and postgresql_noproc, MariaDB) and tests/test_docs.py runs that page. The
plugin's API, clean-up and error paths run in-process through pytester, on the servers too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conftest import MY_HOST, MY_PASS, MY_PORT, MY_USER, PG_HOST, PG_PORT, PG_USER, _admin, _unavailable

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ci-project"
WORKED_EXAMPLE = ROOT / "tests" / "fixtures" / "worked-example-v106.json"
SUMMARY = re.compile(r"ncpasswords: (\d+) restore\(s\), (\d+) template\(s\) on (\w+)")


def plugin_args() -> list[str]:
    """`-p ncpasswords.testing.plugin` unless the installed entry point loads it already."""
    if any(ep.value == "ncpasswords.testing.plugin" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "ncpasswords.testing.plugin"]


def require_server(engine: str) -> None:
    """Fail under CI=true, skip elsewhere, when the engine's server is not reachable."""
    try:
        _admin(engine).close()
    except Exception as exc:
        _unavailable(engine, exc)


def server_args(engine: str) -> list[str]:
    """The plugin's options for the engine's server: the running PostgreSQL (noproc) or MariaDB."""
    args = [f"--passwords-engine={engine}"]
    if engine == "pgsql":
        args += [
            "--passwords-postgresql=noproc",
            f"--postgresql-host={PG_HOST}",
            f"--postgresql-port={PG_PORT}",
            f"--postgresql-user={PG_USER}",
            f"--postgresql-dbname=ncp_plugin_{os.getpid()}",
        ]
    elif engine == "mysql":
        args += [f"--passwords-mysql-dsn=mysql://{MY_USER}:{MY_PASS}@{MY_HOST}:{MY_PORT}"]
    return args


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "NCP_CI_PGSQL_HOST": PG_HOST,
        "NCP_CI_PGSQL_PORT": str(PG_PORT),
        "NCP_CI_PGSQL_USER": PG_USER,
        "NCP_CI_MYSQL_DSN": f"mysql://{MY_USER}:{MY_PASS}@{MY_HOST}:{MY_PORT}",
    }
    return subprocess.run(
        ["bash", str(EXAMPLE / "run.sh"), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_example_project_on_sqlite_fifty_tests_one_restore() -> None:
    result = run_example("sqlite", "--", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b60 passed\b", result.stdout), result.stdout
    assert "tests/test_fifty.py" not in result.stdout  # nothing failed there
    # 4 restores in the whole session: the worked example once for the fifty tests (and every
    # other full restore of it), once with other options, the v105 file once cached, once not.
    match = SUMMARY.search(result.stdout)
    assert match and match.groups() == ("4", "3", "sqlite"), result.stdout


def test_run_sh_rejects_an_unknown_mode() -> None:
    result = run_example("oracle")
    assert result.returncode == 2
    assert "unknown mode 'oracle'" in result.stderr


# -- the plugin in-process ---------------------------------------------------------------------------


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "fixtures").mkdir()
    shutil.copy(WORKED_EXAMPLE, pytester.path / "fixtures" / "example.json")
    return pytester


def test_instance_api_and_occ(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_api="""
        import subprocess, sys
        import pytest

        @pytest.mark.passwords_backup("fixtures/example.json")
        def test_api(passwords_instance, passwords_session):
            i = passwords_instance
            assert i.engine == "sqlite" and passwords_session.engine == "sqlite"
            assert i.config_file.is_file() and i.data_dir.is_dir()
            assert i.config["datadirectory"] == str(i.data_dir)
            ok = i.occ("config:system:get", "dbtype")
            assert (ok.returncode, ok.stdout, ok.stderr) == (0, "sqlite3\\n", "")
            bad = i.occ("passwords:backup:restore", "nope", "-n")
            assert bad.returncode == 1 and bad.stderr.strip() == "Could not find backup 'nope'"
            con = i.connect()
            assert con.execute(f"SELECT COUNT(*) FROM {i.table('passwords_password')}").fetchone()[0] == 2
            # The console script in a subprocess reaches the same instance through i.env.
            out = subprocess.run([sys.executable, "-m", "ncpasswords", "config:system:get", "passwords.secret"],
                                 env=i.env, capture_output=True, text=True, check=True).stdout
            assert out == "nL0q3Zx7Rk2VtY8mWc5PfH1sJd9GbE4a\\n"
            i.restore("fixtures/example.json", data=False, user_settings=False, client_settings=False)
            assert passwords_session.restores_of("fixtures/example.json") == 1
            assert passwords_session.restores_of("example.json", data=False, user_settings=False,
                                                 client_settings=False) == 1
            assert passwords_session.restore_count == 2
    """
    )
    result = project.runpytest(*plugin_args())
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ncpasswords: 2 restore(s), 1 template(s) on sqlite"])


def test_teardown_removes_instances_and_templates(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_teardown="""
        import pytest
        SEEN = []

        @pytest.mark.passwords_backup("fixtures/example.json")
        def test_one(passwords_instance, passwords_session):
            SEEN.append(passwords_instance.config_dir.parent)
            SEEN.append(passwords_session.base_dir)

        def test_two():
            assert not SEEN[0].exists()
            assert SEEN[1].exists()  # the session's templates live until the end of the session
    """
    )
    project.makeconftest("""
        import pytest

        def pytest_sessionfinish(session):
            import test_teardown
            assert not test_teardown.SEEN[1].exists(), "templates left behind"
            print("templates removed")
    """)
    result = project.runpytest(*plugin_args(), "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*templates removed*"])


def test_a_broken_fixture_fails_in_one_line_and_is_not_restored_again(project: pytest.Pytester) -> None:
    (project.path / "fixtures" / "broken.json").write_text('{"version": 99, "keys": {}}')
    project.makepyfile(
        test_broken="""
        import pytest

        @pytest.mark.passwords_backup("fixtures/broken.json")
        @pytest.mark.parametrize("n", range(3))
        def test_broken(passwords_instance, n):
            pass

        def test_count(passwords_session):
            assert passwords_session.restore_count == 0
    """
    )
    result = project.runpytest(*plugin_args())
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*ncpasswords: This seems to be a client backup*"])


def test_usage_errors(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_usage="""
        import pytest

        @pytest.mark.passwords_backup("fixtures/missing.json.gz")
        def test_missing(passwords_instance):
            pass

        @pytest.mark.passwords_backup("fixtures/example.json", colour="red")
        def test_option(passwords_instance):
            pass

        @pytest.mark.passwords_backup("fixtures/example.json")
        def test_marker_without_fixture():
            pass

        def test_factory(passwords_backup_factory):
            passwords_backup_factory("fixtures/missing.json")
    """
    )
    result = project.runpytest(*plugin_args())
    result.assert_outcomes(passed=1, errors=2, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*ncpasswords: backup file 'fixtures/missing.json.gz' not found*",
            "*ncpasswords: unknown restore option(s) colour*",
            "*passwords_backup has no effect without the passwords_instance fixture*",
            "*ncpasswords: backup file 'fixtures/missing.json' not found*",
        ]
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--passwords-engine=oracle"], "*unknown engine 'oracle'*"),
        (["--passwords-engine=mysql", "--passwords-mysql-dsn=127.0.0.1"], "*expected mysql://user*"),
    ],
)
def test_bad_options_are_usage_errors(project: pytest.Pytester, args: list[str], message: str) -> None:
    project.makepyfile(test_x="def test_x(passwords_instance): pass")
    result = project.runpytest(*plugin_args(), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    "args",
    [
        ["--passwords-engine=mysql", "--passwords-mysql-dsn=mysql://root@127.0.0.1:1"],
        # A PostgreSQL fixture of the project's own (as pytest_postgresql.factories would make) whose
        # server is not there. (pytest-postgresql's postgresql_noproc retries for a minute first.)
        ["--passwords-engine=pgsql", "--passwords-postgresql=nowhere_postgresql"],
    ],
    ids=["mysql", "pgsql"],
)
def test_an_unreachable_server_fails_never_skips(project: pytest.Pytester, args: list[str]) -> None:
    project.makeconftest("""
        import types
        import pytest

        @pytest.fixture(scope="session")
        def nowhere_postgresql():
            return types.SimpleNamespace(host="127.0.0.1", port=1, user="postgres", password=None)
    """)
    project.makepyfile(
        test_x="""
        def test_x(passwords_instance): pass
        def test_y(passwords_instance): pass
    """
    )
    result = project.runpytest(*plugin_args(), *args)
    result.assert_outcomes(errors=2)
    assert "skipped" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*ncpasswords: *"])


@pytest.mark.parametrize("engine", ["pgsql", "mysql"])
def test_server_instances_get_their_own_database(project: pytest.Pytester, engine: str) -> None:
    require_server(engine)
    project.makepyfile(
        test_db="""
        import pytest
        NAMES = []

        @pytest.mark.passwords_backup("fixtures/example.json")
        @pytest.mark.parametrize("n", range(3))
        def test_db(passwords_instance, passwords_session, n):
            NAMES.append(passwords_instance.dbname)
            assert passwords_session.server.exists(passwords_instance.dbname)
            db = passwords_instance.database()
            assert db.scalar_sql(f"SELECT COUNT(*) FROM {passwords_instance.table('passwords_password')}") == 2

        def test_dropped(passwords_session):
            assert len(set(NAMES)) == 3
            assert not any(passwords_session.server.exists(name) for name in NAMES)
            assert passwords_session.restores_of("fixtures/example.json") == 1
    """
    )
    result = project.runpytest(*plugin_args(), *server_args(engine))
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("engine", ["sqlite", "pgsql", "mysql"])
def test_passwords_database_is_an_empty_database_per_test(project: pytest.Pytester, engine: str) -> None:
    if engine != "sqlite":
        require_server(engine)
    project.makepyfile(
        test_db="""
        import pytest
        from ncpasswords.instance.install import install
        from ncpasswords.testing.instance import run_occ
        NAMES = []

        @pytest.mark.parametrize("n", range(2))
        def test_db(passwords_database, passwords_session, tmp_path, n):
            NAMES.append(passwords_database.name)
            assert passwords_database.engine == passwords_session.engine
            with passwords_database.connect() as db:
                assert not db.table_exists("passwords_password")
            install(passwords_database.install_options(), tmp_path / "config" / "config.php")
            with passwords_database.connect() as db:
                assert db.table_exists("passwords_password")
            result = run_occ(tmp_path / "config", "config:system:get", "dbname")
            assert (result.returncode, result.stdout) == (0, passwords_database.name + "\\n")

        def test_dropped(passwords_session):
            assert len(set(NAMES)) == 2
            assert not any(passwords_session.server.exists(name) for name in NAMES)
    """
    )
    result = project.runpytest(*plugin_args(), *server_args(engine))
    result.assert_outcomes(passed=3)

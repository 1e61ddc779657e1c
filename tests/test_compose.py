"""compose/: the Compose files and the Dockerfile, checked without Docker.

Docker cannot run where these tests run, so nothing here builds an image or starts a container.
What is checked:
- both Compose files against compose/compose.schema.json (the subset of the Compose Specification
  they use; unknown keys are errors);
- consistency: every named volume, service dependency, profile and file they name exists; the
  ncpasswords services share exactly Nextcloud's config and data volumes, run as uid 33 and point
  NEXTCLOUD_CONFIG_DIR at the config volume; the app's database settings match the database's;
- facts about the official images, from their documentation (cited below): paths, variables, users;
- the ncpasswords commands the files run, for real: the worker and the restore entrypoint run
  against an instance on the engine of that Compose file (as `occ` would inside the container);
- the Dockerfile: base image, what it copies (and that its ignore file lets it through), user, env.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import run_occ, scratch_database
from ncpasswords.cli.main import application, occ
from ncpasswords.instance.install import install

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose"
FILES = {"compose.mariadb.yaml": "mysql", "compose.postgres.yaml": "pgsql"}
SCHEMA = json.loads((COMPOSE / "compose.schema.json").read_text())

# Facts from the images' documentation.
# nextcloud (github.com/nextcloud/docker README: "Additional volumes", "Database parameters",
# "Accessing the Nextcloud command-line interface"; .examples/docker-compose/*/compose.yaml):
NEXTCLOUD_VOLUMES = {"/var/www/html", "/var/www/html/config", "/var/www/html/data"}
NEXTCLOUD_ENV = {
    "MYSQL_HOST",
    "MYSQL_DATABASE",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "POSTGRES_HOST",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "NEXTCLOUD_ADMIN_USER",
    "NEXTCLOUD_ADMIN_PASSWORD",
    "NEXTCLOUD_TRUSTED_DOMAINS",
    "NEXTCLOUD_DATA_DIR",
}
NEXTCLOUD_CRON_ENTRYPOINT = "/cron.sh"
WWW_DATA = "33:33"  # www-data on the Debian variants (`-u33`); Alpine variants use 82
# mariadb (MariaDB's "MariaDB Server Docker Official Image Environment Variables"; data /var/lib/mysql):
MARIADB_ENV = {
    "MARIADB_ROOT_PASSWORD",
    "MARIADB_DATABASE",
    "MARIADB_USER",
    "MARIADB_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "MYSQL_DATABASE",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
}
MARIADB_VOLUME = "/var/lib/mysql"
# postgres (hub.docker.com/_/postgres; 18+ keeps PGDATA below the /var/lib/postgresql volume,
# docker-library/postgres#1259):
POSTGRES_ENV = {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "PGDATA"}
POSTGRES_VOLUME = "/var/lib/postgresql"
# Nextcloud reads NEXTCLOUD_CONFIG_DIR (nextcloud/server lib/base.php); the image keeps config here:
CONFIG_DIR = "/var/www/html/config"
DATA_DIR = "/var/www/html/data"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((COMPOSE / name).read_text())
    assert isinstance(data, dict)
    return data


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """target path -> named volume."""
    result = {}
    for spec in service.get("volumes", []):
        source, target = spec.split(":")[:2]
        result[target] = source
    return result


def argv(service: dict[str, Any]) -> list[str]:
    def words(value: Any) -> list[str]:
        if value is None:
            return []
        return shlex.split(value) if isinstance(value, str) else list(value)

    return words(service.get("entrypoint")) + words(service.get("command"))


def ncpasswords_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s["image"].startswith("ncpasswords:")}


@pytest.fixture(params=sorted(FILES))
def compose(request: pytest.FixtureRequest) -> dict[str, Any]:
    data = load(str(request.param))
    data["_file"] = request.param
    return data


def test_schema_and_names(compose: dict[str, Any]) -> None:
    compose = {k: v for k, v in compose.items() if k != "_file"}
    jsonschema.validate(compose, SCHEMA, cls=jsonschema.Draft202012Validator)
    services = compose["services"]
    used_volumes = {source for s in services.values() for source in mounts(s).values()}
    assert used_volumes == set(compose["volumes"]), "declared and used volumes differ"
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services and dependency != name, (name, dependency)
    assert set(services) >= {"db", "app", "cron", "passwords-worker", "passwords-restore"}


def test_the_schema_rejects_what_it_should() -> None:
    broken = load("compose.mariadb.yaml")
    broken["services"]["app"]["volume"] = ["typo:/x"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    broken = load("compose.mariadb.yaml")
    broken["services"]["passwords-worker"]["user"] = "www-data"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_official_image_facts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    engine = FILES[compose["_file"]]
    for name in ("app", "cron"):
        service = services[name]
        image, _, tag = service["image"].partition(":")
        assert image == "nextcloud" and "alpine" not in tag  # the Debian variants: www-data is uid 33
        assert set(mounts(service)) == NEXTCLOUD_VOLUMES
    assert mounts(services["app"]) == mounts(services["cron"])  # "must match" (image examples)
    assert services["cron"]["entrypoint"] == NEXTCLOUD_CRON_ENTRYPOINT
    app_env = services["app"]["environment"]
    db = services["db"]
    assert set(app_env) <= NEXTCLOUD_ENV
    if engine == "mysql":
        assert db["image"].startswith("mariadb:")
        assert set(mounts(db)) == {MARIADB_VOLUME}
        assert set(db["environment"]) <= MARIADB_ENV
        assert app_env["MYSQL_HOST"] == "db"
        assert app_env["MYSQL_DATABASE"] == db["environment"]["MARIADB_DATABASE"]
        assert app_env["MYSQL_USER"] == db["environment"]["MARIADB_USER"]
        assert app_env["MYSQL_PASSWORD"] == db["environment"]["MARIADB_PASSWORD"]
    else:
        assert re.fullmatch(r"postgres:(1[89]|[2-9]\d)(\.\d+)?", db["image"])  # 18+: volume below
        assert set(mounts(db)) == {POSTGRES_VOLUME}
        assert set(db["environment"]) <= POSTGRES_ENV
        assert app_env["POSTGRES_HOST"] == "db"
        for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
            assert app_env[key] == db["environment"][key]


def test_ncpasswords_services_share_nextclouds_config_and_data(compose: dict[str, Any]) -> None:
    app_mounts = mounts(compose["services"]["app"])
    ours = ncpasswords_services(compose)
    assert set(ours) == {"passwords-worker", "passwords-restore", "passwords-occ"}
    for name, service in ours.items():
        assert service["user"] == WWW_DATA, name
        assert service["environment"] == {"NEXTCLOUD_CONFIG_DIR": CONFIG_DIR}, name
        assert mounts(service) == {CONFIG_DIR: app_mounts[CONFIG_DIR], DATA_DIR: app_mounts[DATA_DIR]}, name
        build = service["build"]
        assert (COMPOSE / build["context"] / build["dockerfile"]).resolve() == COMPOSE / "Dockerfile"
    assert "profiles" not in ours["passwords-worker"]
    assert ours["passwords-worker"]["restart"] == "unless-stopped"
    assert ours["passwords-restore"]["profiles"] == ["restore"]
    assert ours["passwords-occ"]["profiles"] == ["tools"]


def test_every_occ_command_they_name_exists_and_parses(compose: dict[str, Any]) -> None:
    for name, service in ncpasswords_services(compose).items():
        words = argv(service)
        assert words[0] == "occ", name  # the console script pyproject.toml installs
        assert 'occ = "ncpasswords.cli.main:entry"' in (ROOT / "pyproject.toml").read_text()
        command = words[1]
        assert command in occ.commands, (name, command)
        # The line parses as occ would run it (the run may add arguments): an unknown option fails here.
        application().parse_line(words[1:])


def test_header_examples_name_real_services_and_profiles(compose: dict[str, Any]) -> None:
    text = (COMPOSE / compose["_file"]).read_text()
    examples = [line[1:].strip() for line in text.splitlines() if line.startswith("#   ") and "docker compose" in line]
    assert len(examples) == 3
    # The `up` example sets exactly the variables the file requires (${VAR:?message}).
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert set(re.findall(r"(\w+)=…", examples[0])) == required and required
    for example in examples:
        words = shlex.split(example.split("docker ", 1)[1])
        assert words[words.index("-f") + 1] == f"compose/{compose['_file']}"
        if "run" in words:
            service = compose["services"][words[words.index("--rm") + 1]]
            assert service["profiles"] == [words[words.index("--profile") + 1]]


@pytest.fixture
def instance_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An installed instance on the engine of the Compose file being checked."""
    name = str(request.param)
    with scratch_database(FILES[name], tmp_path / "data") as db:
        config_dir = tmp_path / "config"
        install(db.install_options(), config_dir / "config.php")
        yield name, config_dir


@pytest.mark.parametrize("instance_for", sorted(FILES), indirect=True)
def test_the_worker_and_restore_commands_run(instance_for: tuple[str, Path]) -> None:
    name, config_dir = instance_for
    services = load(name)["services"]
    worker = argv(services["passwords-worker"])[1:]
    first = run_occ(config_dir, *worker, "--once")  # the service loops; --once runs one round
    assert first.returncode == 0, first.stderr
    assert "Running job OCA\\Passwords\\Cron\\BackupJob\nCreated Backup " in first.stdout  # beside the other jobs
    backups = run_occ(config_dir, "passwords:backup:list").stdout.split()
    label = backups[backups.index("available:") + 1]
    restore = argv(services["passwords-restore"])[1:]
    restored = run_occ(config_dir, *restore, label)  # `run --rm passwords-restore <label>`
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.rstrip().endswith("Restoring backup ... done")
    tools = run_occ(config_dir, *argv(services["passwords-occ"])[1:])
    assert tools.returncode == 0 and "installed: true" in tools.stdout


def test_dockerfile() -> None:
    text = (COMPOSE / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines[0] == "FROM python:3.12-slim"
    assert any(re.match(r"RUN pip install (--no-cache-dir )?\.( |$)", line) for line in lines)
    assert f"ENV NEXTCLOUD_CONFIG_DIR={CONFIG_DIR}" in lines
    assert f"USER {WWW_DATA}" in lines
    assert lines[-1] == 'CMD ["occ", "background-job:worker"]'
    application().parse_line(["background-job:worker"])
    ignore = (COMPOSE / "Dockerfile.dockerignore").read_text().split()
    copied = [word for line in lines if line.startswith("COPY ") for word in line.split()[1:-1]]
    assert sorted(copied) == ["README.md", "migrations", "plugin", "pyproject.toml", "sql"]
    for source in copied:
        assert (ROOT / source).exists(), source
        assert f"!{source}" in ignore or f"!{source}/" in ignore, source
    # Everything pyproject.toml's wheel build needs is copied.
    pyproject = (ROOT / "pyproject.toml").read_text()
    for needed in re.findall(r'^"(\w+)" = "ncpasswords/', pyproject, flags=re.M):
        assert needed in copied, needed

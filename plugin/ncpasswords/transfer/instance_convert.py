"""`db:convert-type` for the whole Nextcloud instance: every table with the instance's prefix, its
schema as Nextcloud creates it on the target engine (db/portable.py), verified, all or nothing
(docs/moving-between-engines.md).

It runs the same steps as the app's conversion (`convert.py`: journal, snapshot, bulk paths,
checksums, config.php switched after COMMIT) over other tables:

1. discovery (`instance_tables.discover`): every table with the prefix, read into the portable
   form; the tables of apps that are not installed are converted only with `--all-apps`, and
   without it the user is asked whether to go on without them;
2. checks that change nothing: the target has none of the tables (or `--clear-schema`), and no
   value the target would refuse (`hostile.scan`, reported per table);
3. the schema, written as the target's Doctrine platform writes it;
4. every row copied from one snapshot of the source, in one target transaction (PostgreSQL and
   SQLite: the schema too; MySQL commits DDL on its own, so its tables are dropped again on
   failure and those put aside by --clear-schema renamed back). Tables go one after another
   through that one transaction: a second writer would need a second transaction, and the
   conversion would no longer be one COMMIT. Secondary indexes are built after all rows; on
   MySQL the first of them commits the rows, which changes nothing of the above: the tables
   are still dropped on failure and config.php is switched only after step 5;
5. auto-increment sequences set past the highest id, counts and checksums of every table
   compared, then COMMIT and config.php (dbtype, dbhost, dbname, dbuser, dbpassword,
   dbtableprefix, mysql.utf8mb4) through the journal.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from ..db import bulk, portable
from ..db.connection import ConnectionSettings, Database, EncodedRows
from ..db.writer import Writer
from ..errors import UserError
from ..instance.instance import Instance
from ..instance.journal import ConfigChange
from . import hostile
from .convert import (
    ConfirmExtraTables,
    ConvertOptions,
    Target,
    _Conversion,
    start,
)
from .instance_tables import InstanceTables, discover, transfer_table
from .report import Log, Progress, TransferReport
from .tables import Row, TransferTable, drop_table, rename_table

ConfirmLeftOut = Callable[[list[str]], bool]


def convert_instance(
    instance: Instance,
    target: Target,
    options: ConvertOptions | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
    confirm_left_out: ConfirmLeftOut | None = None,
    all_apps: bool = False,
) -> TransferReport:
    """Copy every table of the instance to `target`, verify it and point config.php at the
    target. Raises a UserError (nothing changed) on any failure.

    Tables of apps that are not installed are copied only with `all_apps`; otherwise
    `confirm_left_out` is asked whether to go on without them (without it, the conversion stops).
    """
    return start(_InstanceConversion, instance, target, options, progress, log, confirm_left_out, all_apps=all_apps)


class _InstanceConversion(_Conversion):
    """`_Conversion` over every table of the instance."""

    def __init__(
        self,
        source: Database,
        settings: ConnectionSettings,
        options: ConvertOptions,
        progress: Progress,
        log: Log,
        all_apps: bool,
    ) -> None:
        super().__init__(source, settings, options, progress, log)
        self.all_apps = all_apps
        self.found = InstanceTables({})
        self.chosen: list[portable.Table] = []
        self.written: dict[str, TransferTable] = {}
        self.deferred_indexes: list[str] = []

    @staticmethod
    def target_config(source: Database, config: dict[Any, Any]) -> dict[Any, Any]:
        return {**config, "dbtableprefix": source.prefix}

    @staticmethod
    def check_source(source: Database) -> None:
        """Every table is copied as it is: what makes a Nextcloud is checked by `_preflight`."""

    def _preflight(self, target: Database, confirm_extra_tables: ConfirmExtraTables | None) -> list[str]:
        self.step = "checking the target"
        self.found = discover(self.source, target.backend)
        if "appconfig" not in self.found.tables:
            raise UserError(f"The source database has no {self.source.table('appconfig')} table: not a Nextcloud.")
        left_out = self.found.left_out(self.all_apps)
        if left_out:
            names = [self.source.table(n) for n in left_out]
            if confirm_extra_tables is None or not confirm_extra_tables(names):
                raise UserError("Conversion aborted: the source has tables of apps that are not installed.")
        self.chosen = [self.found.tables[n] for n in self.found.chosen(self.all_apps)]
        existing = self._existing(target)
        if existing and not self.options.clear_schema:
            shown = ", ".join(target.table(n) for n in existing[:5]) + (", …" if len(existing) > 5 else "")
            raise UserError(
                f"The target database already has {len(existing)} tables with the prefix {target.prefix} "
                f"({shown}); use --clear-schema to replace them."
            )
        findings = hostile.scan(self.source, self.chosen, target.backend)
        if findings:
            raise UserError(
                f"Nothing was converted: {target.backend.display_name} would refuse values of "
                f"{len(findings)} column(s): {hostile.report(findings)}"
            )
        return existing

    @staticmethod
    def _existing(target: Database) -> list[str]:
        return sorted(
            str(r[0])[len(target.prefix) :]
            for r in target.rows("schema.app_tables")
            if str(r[0]).startswith(target.prefix)
        )

    def _create_schema(self, target: Database, existing: list[str], change: ConfigChange) -> None:
        committed_ddl = not target.backend.transactional_ddl
        names = [t.name for t in self.chosen]
        if committed_ddl:  # journal what will be created and put aside before the first DDL
            token = secrets.token_hex(3)
            planned = {name: f"{name}_ncp{token}" for name in existing}
            change.update(created=names, aside=planned)
        if existing:
            self.step = "clearing the schema"
            self.log("Clearing schema in new database")
            for name in existing:
                if committed_ddl:
                    rename_table(target, name, planned[name])
                    self.aside[name] = planned[name]
                else:
                    drop_table(target, name)
        self.step = "creating the schema"
        self.log("Creating schema in new database")
        for table in self.chosen:
            if committed_ddl:
                self.created_tables.append(table.name)
            create, *indexes = target.backend.create_table_statements(target, table)
            target.execute_sql(create).close()
            self.deferred_indexes.extend(indexes)  # built after the rows
        self.written = {t.name: transfer_table(t, target.backend.folds_names) for t in self.chosen}

    def _prepare_load(self, target: Database, tables: list[TransferTable], transactional_ddl: bool) -> list[str]:
        """The tables' indexes are built after their rows: they were never created (see
        `_create_schema`), so nothing has to be dropped first. Where DDL commits by itself
        (MySQL) the first of them commits the rows: the tables are still this conversion's own,
        dropped if anything fails later, and config.php points at them only after verification."""
        if transactional_ddl:
            bulk.prepare(target, [t.name for t in tables], replace_all=False)
        return self.deferred_indexes

    def _transfer_tables(self, target: Database) -> list[TransferTable]:
        return [transfer_table(t, self.source.backend.folds_names) for t in self.chosen]

    def _target_table(self, table: TransferTable) -> TransferTable:
        return self.written[table.name]

    def _insert_rows(self, target: Database, name: str, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
        """Rows encoded here for the target's bulk path (MySQL's multi-row INSERTs, PostgreSQL's
        COPY text) and written by a background thread where the engine works in its own process,
        so that reading and encoding the next batch overlap with the server's work."""
        written = 0

        def write(encoded: EncodedRows) -> None:
            nonlocal written
            written += target.insert_many(name, columns, encoded)

        with Writer(target.backend.background_writes, "convert-writer") as writer:
            iterator = iter(rows)
            while batch := list(itertools.islice(iterator, self.options.chunk_size)):
                writer.submit(functools.partial(write, target.encode_rows(name, columns, batch)))
        return written

    def _reset_sequence(self, target: Database, table: TransferTable) -> None:
        target.backend.reset_autoincrement(target, self.found.tables[table.name])

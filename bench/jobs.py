"""Time the app's background jobs and the database repair on a restored sample, per engine.

Each engine gets a fresh instance with the sample restored (not timed); then, one after the other,
`background-job:worker --once <class>` for CleanUpEntities (with `entity/purge/timeout` 0, so the
soft-deleted rows are purged), SynchronizeShares and CheckPasswordsJob, `maintenance:repair`, and
`passwords:user:delete` for one user (`user2`) (the code of ProcessDeletedUser, whose queue only exists in
a Nextcloud database). Prints one line per step; docs/benchmarks.md#background-jobs-at-l holds
the numbers of a quiet run.

    python -m bench.jobs --size L --engines sqlite,pgsql,mysql
"""

from __future__ import annotations

import argparse
import sys

from ncpasswords.crypto.ssev1 import ENCRYPTED_FIELDS, SSE_V1_TYPES, SseKeys, encrypt_revision
from ncpasswords.instance.instance import Instance
from ncpasswords.repositories.config_values import AppConfig, Preferences
from ncpasswords.repositories.entity_repository import EntityRepository

from .harness import Bench, Measure, place, sample_file, setup

#: Starts the hand-written section of docs/benchmarks.md with this script's numbers (the other
#: bench scripts keep it).
JOBS_MARKER = "<!-- bench.jobs: written by hand from python -m bench.jobs, kept by python -m bench -->"
JOBS = ("CleanUpEntities", "SynchronizeShares", "CheckPasswordsJob")


def encrypt_shared(bench: Bench) -> int:
    """The sample's ciphertexts are random: give the current revisions of the shared passwords and
    of their copies real SSEv1r2 encryptions, and mark every share with a copy as changed at the
    source, so that SynchronizeShares makes the new copies and updates the others. Returns how
    many shares there are."""
    instance = Instance.load(bench.config_dir / "config.php")
    db = instance.connect()
    try:
        prefs = Preferences(db).all()
        user_keys = {u: v["SSEv1UserKey"] for u, v in prefs.items() if "SSEv1UserKey" in v}
        keys = SseKeys(instance.server_secret, AppConfig(db).get("SSEv1ServerKey") or "", user_keys)
        revisions = EntityRepository(db, "passwords_password_rv")
        cur = db.execute_sql(
            f"SELECT source_password, target_password FROM {db.table('passwords_share')} WHERE deleted = FALSE"
        )
        shares = cur.fetchall()
        cur.close()
        old: list[int] = []
        new = []
        for source, target in shares:
            for password in (source, target):
                for row in db.rows("shares.current_revision", {"uuid": password}) if password else []:
                    revision = revisions.entity(tuple(row))
                    if revision["sseType"] in SSE_V1_TYPES and revision["userId"] in user_keys:
                        plain = {**revision, **{f: f"{f} of {password}" for f in ENCRYPTED_FIELDS["password"]}}
                        new.append(encrypt_revision("password", plain, keys))
                        old.append(int(revision["id"]))
        with db.transaction():
            for start in range(0, len(old), 500):
                ids = ", ".join(str(i) for i in old[start : start + 500])
                db.execute_sql(f"DELETE FROM {db.table('passwords_password_rv')} WHERE id IN ({ids})").close()
            revisions.insert_many(new)
            db.execute_sql(
                f"UPDATE {db.table('passwords_share')} SET source_updated = TRUE WHERE deleted = FALSE"
            ).close()
        return len(shares)
    finally:
        db.close()


def bench_jobs(engine: str, size: str, seed: int, suffix: str) -> list[tuple[str, Measure]]:
    bench = setup(engine, suffix)
    label = f"jobs{size}"
    place(bench, sample_file(size, seed), label)
    bench.occ("-n", "passwords:backup:restore", label)
    print(f"{engine} {size}: {encrypt_shared(bench)} shares", flush=True)
    bench.settle()
    bench.occ("config:app:set", "passwords", "entity/purge/timeout", "--value=0")
    steps = [(job, ("background-job:worker", "--once", f"OCA\\Passwords\\Cron\\{job}")) for job in JOBS]
    steps += [("repair", ("maintenance:repair",)), ("ProcessDeletedUser", ("-n", "passwords:user:delete", "user2"))]
    return [(name, bench.occ(*args)) for name, args in steps]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="L", help="sample size (default L)")
    parser.add_argument("--engines", default="sqlite,pgsql,mysql", help="engines (default all three)")
    parser.add_argument("--seed", type=int, default=1, help="sample data seed (default 1)")
    parser.add_argument("--suffix", default="_jobs", help="suffix of the bench databases (default _jobs)")
    args = parser.parse_args(argv)
    for engine in args.engines.split(","):
        for name, measure in bench_jobs(engine, args.size, args.seed, args.suffix):
            print(f"{engine} {args.size} {name}: {measure.seconds:.1f} s, {measure.rss_kb / 1024:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A pre-loaded `python -m ncpasswords` that forks one occ process per request (crash tests).

Starting a Python interpreter and importing the package takes ~0.4 s, longer than the work of
the small operations the crash tests kill. This process imports everything once and then, for
each request read from stdin (one JSON object per line), forks a child that runs exactly what
`python -m ncpasswords ARGV...` runs (`ncpasswords.cli.main.main`) with NEXTCLOUD_CONFIG_DIR set,
its stdin on /dev/null and stdout/stderr in files. So the child starts its real work within a
millisecond of the fork and a kill time measured from the fork lands in the work, not in imports.

Request: {"argv": [...], "env": {...}, "stdout": path, "stderr": path,
          "kill_after": seconds | null,            # SIGKILL this long after the fork
          "die_at": "module:Qualname.attr" | null,  # SIGKILL the child itself right after
          "die_call": n,                            #   the n-th return (1-based) of that function
          "die_before": bool,                       #   ... or right when it is called the n-th time
          "pause": seconds,                         # with die_at: sleep that long there instead of dying
          "background": bool}                       # reply {"pid"} at once; {"wait": pid} later
Reply:   {"pid": int, "exit": int | null, "signal": int | null, "elapsed": seconds}
Request {"wait": pid} waits for a background child and replies as above.

`die_at` is the deterministic variant: the child wraps the named function and kills itself with
SIGKILL after its n-th call returned (e.g. right after config.php was written, before COMMIT).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import signal
import sys
import time
from typing import Any

# Everything the commands import lazily, so that the children do not spend time on it.
import psycopg  # noqa: F401
import pymysql.cursors  # noqa: F401

from ncpasswords.cli.main import main

for optional in ("ncpasswords.transfer.convert", "ncpasswords.transfer.dump"):
    try:
        importlib.import_module(optional)
    except Exception:  # not there yet: a child imports what it needs itself
        continue


def _install_die_at(target: str, nth: int, before: bool, pause: float | None) -> None:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attr = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, attr)
    calls = 0

    def stop() -> None:
        if pause is not None:
            time.sleep(pause)
        else:
            os.kill(os.getpid(), signal.SIGKILL)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if before and calls == nth:
            stop()
        result = original(*args, **kwargs)
        if not before and calls == nth:
            stop()
        return result

    setattr(owner, attr, wrapper)


def _child(request: dict[str, Any]) -> None:
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.environ.update(request.get("env") or {})
        if request.get("die_at"):
            pause = request.get("pause")
            _install_die_at(
                request["die_at"],
                int(request.get("die_call") or 1),
                bool(request.get("die_before")),
                None if pause is None else float(pause),
            )
        code = main(request["argv"])
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # the harness itself failed: report it on the child's stderr
        os.write(2, f"zygote child failed: {exc!r}\n".encode())
        code = 99
    os._exit(code)


def _reply(pid: int, status: int, started: float) -> None:
    reply = {
        "pid": pid,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "elapsed": time.monotonic() - started,
    }
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def _serve() -> None:
    background: dict[int, float] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if "wait" in request:
            pid = int(request["wait"])
            _, status = os.waitpid(pid, 0)
            _reply(pid, status, background.pop(pid))
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        if request.get("background"):
            background[pid] = started
            sys.stdout.write(json.dumps({"pid": pid}) + "\n")
            sys.stdout.flush()
            continue
        kill_after = request.get("kill_after")
        if kill_after is not None:
            deadline = started + float(kill_after)
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.05))
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
        else:
            _, status = os.waitpid(pid, 0)
        _reply(pid, status, started)


if __name__ == "__main__":
    _serve()

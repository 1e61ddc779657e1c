"""The app's `ProcessDeletedUser` job: the data part of deleting a Nextcloud user
(docs/background-jobs.md#processdeleteduser).

Nextcloud queues it with the user id as its argument when a user is deleted. It does what
`passwords:user:delete` does (`users.data.delete_user`), so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..db.connection import Database
from ..errors import UserError
from ..instance.instance import Instance
from ..php.json import dumps as php_json
from ..users.data import DELETE_USER_JOB, delete_user

JOB_CLASS = DELETE_USER_JOB


class InvalidJobArgument(UserError):
    """The queued job's argument is not a user id; the job is dropped, as Nextcloud drops it."""


def user_id(argument: Any) -> str:
    """The user id of the job's argument as PHP passes it to a `string` parameter: a string, or an
    integer turned into one; anything else is refused."""
    if isinstance(argument, bool) or not isinstance(argument, str | int):
        raise InvalidJobArgument(f"Invalid user id argument for {JOB_CLASS}: {php_json(argument)}")
    return argument if isinstance(argument, str) else str(argument)


def run(instance: Instance, db: Database, log: Callable[[str], None], now: float, argument: Any) -> None:
    """Delete the user's Passwords data and the user's queued jobs, in one transaction."""
    uid = user_id(argument)
    delete_user(db, uid, now=int(now))
    log(f"Database of {uid} deleted due to user deletion")

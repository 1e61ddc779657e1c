"""Errors a user can act on: printed as one line on stderr with a non-zero exit, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input, configuration or environment rather than by a bug."""

    exit_code: int = 1

    def __init__(self, message: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NotInstalledError(UserError):
    """No config.php: only `maintenance:install` and `status` can run."""

    def __init__(self) -> None:
        super().__init__("Nextcloud is not installed - only a limited number of commands are available")


class DatabaseConnectionError(UserError):
    """The database server cannot be reached or refuses the login."""

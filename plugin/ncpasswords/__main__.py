"""`python -m ncpasswords` runs occ."""

from .cli.main import entry

entry()

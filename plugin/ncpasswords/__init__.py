"""ncpasswords: the Nextcloud Passwords app's data layer as a SQL-first Python library and `occ`."""

__version__ = "0.1.0"

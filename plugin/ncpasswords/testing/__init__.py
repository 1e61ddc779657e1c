"""The pytest plugin (`ncpasswords.testing.plugin`): throwaway instances restored from fixture backups."""

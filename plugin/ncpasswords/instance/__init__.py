"""instance package."""

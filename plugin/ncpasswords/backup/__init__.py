"""backup package."""

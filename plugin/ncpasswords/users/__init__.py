"""One user's Passwords data: who exists, and deleting or moving their data."""

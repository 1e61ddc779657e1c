"""Benchmarks of ncpasswords against the engines' native tools (`python -m bench --help`)."""

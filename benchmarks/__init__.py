"""Hindsight's performance suite: `python -m benchmarks [scenario ...]` (or `make bench`)."""

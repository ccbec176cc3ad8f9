"""Metric use cases: build the mart query, run it, shape tidy rows (CONTRACT §4)."""

"""Prefect flows: orchestration only; the logic lives in `journey_metrics`."""

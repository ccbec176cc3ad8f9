"""journey-metrics: raw customer events -> customer-journey metrics."""

__version__ = "0.1.0"

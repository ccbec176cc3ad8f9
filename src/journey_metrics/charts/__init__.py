"""Altair chart builders, one module per metric (mart rows in, a chart out)."""

"""Chart functions: aggregated rows in, an Altair chart out (Altair is imported inside)."""

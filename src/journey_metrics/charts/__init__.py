"""Chart functions of single metrics: aggregated rows in, an Altair chart out (the dashboard
wires them into its page). Altair is imported inside each function, so importing is cheap."""

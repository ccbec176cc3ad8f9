"""Chart functions: aggregated metric rows in, an Altair chart out (the report wires them in).

Modules import Altair inside their functions, so importing this package stays cheap.
"""

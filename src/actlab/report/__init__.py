"""Rendering: activation cards, plots and (later) the HTML report. Reads specs and stored results only."""

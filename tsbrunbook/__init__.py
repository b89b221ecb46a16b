"""tsbrunbook: a terminal runbook assistant for on-call engineers running Tetrate Service Bridge."""

__version__ = "0.1.0"

"""Textual widgets of the runbook app."""

"""Modal screens of the runbook app."""

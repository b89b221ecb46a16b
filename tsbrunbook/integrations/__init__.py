"""Optional integrations, each behind a small interface: keyring secrets, chat updates, the TSB probe.

Nothing here is imported at start-up; each module imports its heavy dependencies lazily.
"""

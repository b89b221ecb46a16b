"""The domain: runbooks, estates, the dependency graph, impact and incidents. No UI in here."""

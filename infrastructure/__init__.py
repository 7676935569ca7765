"""Wiring: settings, database connections, event recorders, identity, the CLI."""

"""Use cases of the service: commands that decide and save, queries that read."""

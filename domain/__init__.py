"""The domain: projects, jobs and tasks, their rules and their events."""

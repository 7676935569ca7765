"""End-to-end tests: a real HTTP client against real `sokosumi-projects serve`."""

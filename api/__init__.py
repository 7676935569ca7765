"""The HTTP API: Flask app, blueprints, schemas and the mapping of errors."""

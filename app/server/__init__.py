"""Service-side concerns of running Brief under gunicorn: which model each worker serves, and reload hand-overs."""

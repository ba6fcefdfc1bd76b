"""The HTTP service around the core: routes, the worker's service, error handlers, metrics and drift;
request bodies, the request and response models, the OpenAPI description; what it needs to face the
internet (API keys, rate limits, request ids and logs, browser headers); and running under gunicorn:
which model each worker serves, and reload hand-overs."""

"""The HTTP side of the service: request bodies, the request and response models, the OpenAPI
description; and running under gunicorn: which model each worker serves, and reload hand-overs."""

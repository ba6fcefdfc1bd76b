"""The HTTP side of the service: request bodies, the request and response models, the OpenAPI description."""

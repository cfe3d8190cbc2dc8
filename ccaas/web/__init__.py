"""HTTP boundary: the aiohttp app, REST handlers, problem+json errors and the OpenAPI document."""

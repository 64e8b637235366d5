"""The HTTP API: thin FastAPI routers over lumen.services."""

"""LAPIS outward shells: the FastAPI app (HTTP) and the `lapis` CLI — thin over `spatial`."""

"""HTTP routers: each parses its parameters, calls `spatial`, and shapes the response."""

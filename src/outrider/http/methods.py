"""HTTP method lists for routes."""

# Nomad does not check the method on most endpoints (``command/agent/http.go``
# ``registerHandlers``); Starlette needs them listed.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

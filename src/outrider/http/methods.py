"""HTTP method lists for routes."""

# Nomad does not check the method on most endpoints (spec §0); Starlette needs them listed.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

"""The HTTP API: Starlette routes compatible with Nomad's agent endpoints."""

"""The options ``nats-py``'s ``connect`` takes, from the agent's ``fleet { }`` block."""

from __future__ import annotations

import ssl
from typing import Any

from outrider.config import FleetSettings

# How long one attempt to reach a NATS server may take; the membership loop retries.
CONNECT_TIMEOUT = 2.0


def connect_options(settings: FleetSettings) -> dict[str, Any]:
    """Keyword arguments of ``nats.connect``: servers, credentials, TLS, and endless reconnects."""
    options: dict[str, Any] = {
        "servers": settings.nats,
        "connect_timeout": CONNECT_TIMEOUT,
        "allow_reconnect": True,
        # Never give up: the agent serves its own node meanwhile and re-registers on return.
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "name": "outrider",
    }
    if settings.token:
        options["token"] = settings.token
    if settings.user:
        options["user"] = settings.user
        options["password"] = settings.password
    if settings.tls_ca_file or settings.tls_cert_file:
        context = ssl.create_default_context(cafile=settings.tls_ca_file or None)
        if settings.tls_cert_file:
            context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        options["tls"] = context
    return options

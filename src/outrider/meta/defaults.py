"""Static node metadata: the operator's ``client { meta }`` plus the keys Nomad's ``setupNode`` injects."""

from __future__ import annotations

from collections.abc import Mapping

# Nomad sets these when the operator did not; consumers (Connect sidecars, the
# scheduler) read them, so they are part of the node's contract. The image keeps the
# explicit registry prefix and the unexpanded ${NOMAD_envoy_version}, exactly as
# Nomad publishes it (helper/envoy/envoy.go).
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}"
DEFAULT_META: Mapping[str, str] = {
    "connect.sidecar_image": ENVOY_IMAGE,
    "connect.gateway_image": ENVOY_IMAGE,
    "connect.log_level": "info",
    "connect.proxy_concurrency": "1",
    "connect.transparent_proxy.default_uid": "101",
    "connect.transparent_proxy.default_outbound_port": "15001",
}


def static_meta(configured: Mapping[str, str]) -> dict[str, str]:
    """The static meta map: ``configured`` wins; a default fills each key it lacks."""
    merged = dict(configured)
    for key, value in DEFAULT_META.items():
        merged.setdefault(key, value)
    return merged

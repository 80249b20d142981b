"""``GET /v1/node/<node_id>`` and ``GET /v1/nodes``: the local node in Nomad's ``Node`` shapes.

``Meta`` is the effective metadata at the moment of the request: a POST to
``/v1/client/metadata`` shows here as soon as it has been answered (Nomad's
servers see it 5 to 10 s later, ``client/client.go`` ``updateNode``). Blocking queries (``?index=``,
``?wait=``) return as soon as the node changes, so watchers need not poll.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.agent import Agent
from outrider.fleet.records import NodeRecord
from outrider.gostrconv import format_rfc3339nano
from outrider.http.blocking import block
from outrider.http.errors import APIError, invalid_method
from outrider.http.methods import ANY_METHOD
from outrider.http.prologue import authorize_node, begin, parse_bool_param
from outrider.http.responses import json_response, query_meta_headers
from outrider.stats.fingerprint import Fingerprint, node_resources, reserved_resources


def http_addr(request: Request, agent: Agent) -> str:
    """The address this request reached, as ``host:port`` (the port is only known once bound)."""
    server = request.scope.get("server")
    if server and server[1] is not None:
        host, port = server[0], server[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{agent.config.bind_addr}:{agent.config.http_port}"


def _computed_class(agent: Agent, fp: Fingerprint, meta: dict[str, str]) -> str:
    # Nomad hashes the node's scheduling-relevant fields into "v1:<number>"; any stable
    # digest of the same inputs serves the same purpose (grouping identical nodes).
    h = hashlib.blake2b(digest_size=8)
    for part in (agent.config.datacenter, agent.config.node_class, agent.config.node_pool):
        h.update(part.encode() + b"\0")
    for key, value in sorted(fp.attributes.items()):
        if not key.startswith("unique."):
            h.update(f"{key}={value}\0".encode())
    for key, value in sorted(meta.items()):
        if not key.startswith("unique."):
            h.update(f"{key}={value}\0".encode())
    return f"v1:{int.from_bytes(h.digest(), 'big')}"


def _drivers(since: str, enabled: bool) -> dict[str, Any]:
    # The agent runs raw_exec-style tasks itself; a disabled driver reads as Nomad's
    # drivers/rawexec/driver.go buildFingerprint reports it.
    if not enabled:
        return {
            "raw_exec": {
                "Attributes": None,
                "Detected": False,
                "HealthDescription": "disabled",
                "Healthy": False,
                "UpdateTime": since,
            }
        }
    return {
        "raw_exec": {
            "Attributes": {"driver.raw_exec": "true"},
            "Detected": True,
            "HealthDescription": "Healthy",
            "Healthy": True,
            "UpdateTime": since,
        }
    }


def node_view(request: Request, agent: Agent) -> dict[str, Any]:
    """The local node as Nomad's ``structs.Node`` (``SecretID`` redacted, as the API does)."""
    cfg = agent.config
    fp = agent.fingerprint
    store = agent.meta
    meta = store.meta
    since = format_rfc3339nano(int(agent.started_at * 1e9))
    return {
        "Attributes": fp.attributes,
        "CSIControllerPlugins": None,
        "CSINodePlugins": None,
        "CgroupParent": "",
        "ComputedClass": _computed_class(agent, fp, meta),
        "CreateIndex": store.create_index,
        "Datacenter": cfg.datacenter,
        "Drain": False,
        "DrainStrategy": None,
        "Drivers": _drivers(since, cfg.raw_exec_enabled),
        "Events": [
            {
                "CreateIndex": 0,
                "Details": None,
                "Message": "Node registered",
                "Subsystem": "Cluster",
                "Timestamp": since,
            }
        ],
        "HTTPAddr": http_addr(request, agent),
        "HostNetworks": None,
        "HostVolumes": None,
        "ID": agent.node_id,
        "LastAllocUpdateIndex": 0,
        "LastDrain": None,
        "LastMissedHeartbeatIndex": 0,
        "Links": {},
        "Meta": meta,
        "ModifyIndex": store.modify_index,
        "Name": cfg.node_name,
        "NodeClass": cfg.node_class,
        "NodePool": cfg.node_pool,
        "NodeResources": node_resources(fp),
        "Reserved": None,
        "ReservedResources": reserved_resources(),
        "Resources": None,
        "SchedulingEligibility": "eligible",
        "SecretID": "",
        "Status": "ready",
        "StatusDescription": "",
        "StatusUpdatedAt": int(agent.started_at),
        "TLSEnabled": False,
    }


def node_stub(node: dict[str, Any], resources: bool, os_attrs: bool) -> dict[str, Any]:
    """Nomad's ``NodeListStub`` of ``node``."""
    host = node["HTTPAddr"].rsplit(":", 1)[0].strip("[]")
    stub: dict[str, Any] = {
        "Address": host,
        "CreateIndex": node["CreateIndex"],
        "Datacenter": node["Datacenter"],
        "Drain": False,
        "Drivers": node["Drivers"],
        "HostVolumes": None,
        "ID": node["ID"],
        "LastDrain": None,
        "ModifyIndex": node["ModifyIndex"],
        "Name": node["Name"],
        "NodeClass": node["NodeClass"],
        "NodePool": node["NodePool"],
        "SchedulingEligibility": node["SchedulingEligibility"],
        "Status": node["Status"],
        "StatusDescription": node["StatusDescription"],
        "Version": node["Attributes"].get("outrider.version", ""),
    }
    if resources:
        stub["NodeResources"] = node["NodeResources"]
        stub["ReservedResources"] = node["ReservedResources"]
    if os_attrs:
        stub["Attributes"] = {"os.name": node["Attributes"].get("os.name", "")}
    return stub


def record_stub(record: NodeRecord, resources: bool, os_attrs: bool) -> dict[str, Any]:
    """Nomad's ``NodeListStub`` of another fleet member, from its fleet record.

    The record holds no resources or attributes: those fields are empty for other members.
    """
    stub: dict[str, Any] = {
        "Address": urlsplit(record.advertise).hostname or "",
        "CreateIndex": 0,
        "Datacenter": record.datacenter,
        "Drain": False,
        "Drivers": {},
        "HostVolumes": None,
        "ID": record.id,
        "LastDrain": None,
        "ModifyIndex": 0,
        "Name": record.name,
        "NodeClass": record.node_class,
        "NodePool": record.node_pool,
        "SchedulingEligibility": "eligible",
        "Status": record.status,
        "StatusDescription": "",
        "Version": record.version,
    }
    if resources:
        stub["NodeResources"] = None
        stub["ReservedResources"] = None
    if os_attrs:
        stub["Attributes"] = {"os.name": ""}
    return stub


async def node_get(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    agent, query = begin(request)
    authorize_node(request, agent, write=False)
    if request.path_params["node_id"] != agent.node_id:
        raise APIError(404, "node not found")
    await block(request, query, agent.meta)
    node = node_view(request, agent)
    return json_response(node, query, headers=query_meta_headers(node["ModifyIndex"]))


async def nodes_list(request: Request) -> Response:
    if request.method != "GET":
        raise invalid_method()
    agent, query = begin(request)
    authorize_node(request, agent, write=False)
    resources = parse_bool_param(query, "resources")
    os_attrs = parse_bool_param(query, "os")
    await block(request, query, agent.meta)
    node = node_view(request, agent)
    prefix = query.get("prefix")
    stubs = [node_stub(node, resources, os_attrs)] if node["ID"].startswith(prefix) else []
    if agent.fleet is not None:
        stubs.extend(
            record_stub(r, resources, os_attrs)
            for r in agent.fleet.nodes()
            if r.id != agent.node_id and r.id.startswith(prefix)
        )
        stubs.sort(key=lambda stub: stub["ID"])
    return json_response(stubs, query, headers=query_meta_headers(node["ModifyIndex"]))


ROUTES = [
    # Nomad's "/v1/node/" takes the rest of the path, so "/v1/node/a/b" is an unknown node, not an unknown route.
    Route("/v1/node/{node_id:path}", node_get, methods=ANY_METHOD),
    Route("/v1/nodes", nodes_list, methods=ANY_METHOD),
]

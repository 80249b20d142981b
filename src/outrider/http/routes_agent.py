"""``/v1/agent/self`` and ``/v1/agent/health``."""

from __future__ import annotations

import platform
import sys
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider import _impl
from outrider.http.methods import ANY_METHOD
from outrider.http.params import query_of
from outrider.http.prologue import agent_of, authorize_agent
from outrider.http.responses import json_response


async def agent_self(request: Request) -> Response:
    agent = agent_of(request)
    authorize_agent(request, agent, write=False)
    cfg = agent.config
    body = {
        "config": {
            "Version": {
                "Version": agent.version,
                "VersionMetadata": "",
                "VersionPrerelease": "",
                "Revision": "",
            },
            "Datacenter": cfg.datacenter,
            "Region": cfg.region,
            "NodeName": cfg.node_name,
            "DataDir": cfg.data_dir,
            "BindAddr": cfg.bind_addr,
            "Ports": {"HTTP": cfg.http_port},
            "Client": {
                "Enabled": True,
                "AllocDir": cfg.alloc_dir,
                "Meta": cfg.meta,
                "NodeClass": cfg.node_class,
            },
            "Server": {"Enabled": False},
            "ACL": {"Enabled": cfg.acl_enabled},
            "DevMode": cfg.dev,
        },
        "member": {"Name": cfg.node_name, "Addr": cfg.bind_addr, "Port": cfg.http_port, "Status": "alive"},
        "stats": {
            "client": {
                "node_id": agent.node_id,
                "known_servers": "",
                "num_allocations": str(len(list(agent.allocs.owned()))),
                "last_heartbeat": "0",
                "heartbeat_ttl": "0",
            },
            "outrider": {"version": agent.version, "core": _impl.core_name()},
            "runtime": {
                "arch": platform.machine(),
                "version": sys.version.split()[0],
                "cpu_count": str(len(__import__("os").sched_getaffinity(0))),
                "uptime": str(int(time.time() - agent.started_at)),
            },
        },
    }
    return json_response(body, query_of(request))


async def agent_health(request: Request) -> Response:
    return json_response({"client": {"message": "ok", "ok": True}}, query_of(request))


ROUTES = [
    Route("/v1/agent/self", agent_self, methods=ANY_METHOD),
    Route("/v1/agent/health", agent_health, methods=ANY_METHOD),
]

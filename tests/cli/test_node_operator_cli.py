"""``outrider node status``, ``node meta read|apply``, ``operator api`` and ``system gc`` against a real agent."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.support import err, fails, ok, out, register, run, wait_dead
from tests.conftest import AgentProcess
from tests.runner import jobspecs as J
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional


def node_id(agent: AgentProcess) -> str:
    with agent.client() as http:
        return str(http.get("/v1/agent/self").json()["stats"]["client"]["node_id"])


def test_node_status_list_self_prefix_and_json(agent: AgentProcess) -> None:
    ident = node_id(agent)
    listing = ok("node", "status", agent=agent)
    assert re.search(
        rf"^{ident[:8]}\s+default\s+dc1\s+\S+\s+<none>\s+false\s+eligible\s+ready$", listing, re.M
    )
    mine = ok("node", "status", "-self", agent=agent)
    assert re.search(rf"^ID\s+= {ident[:8]}$", mine, re.M)
    assert re.search(r"^Drivers\s+= raw_exec$", mine, re.M)
    assert "Node Events" in mine and "Node registered" in mine
    assert ok("node", "status", ident[:6], agent=agent) == mine
    assert json.loads(ok("node", "status", "-json", "-self", agent=agent))["ID"] == ident
    assert json.loads(ok("node", "status", "-json", agent=agent))[0]["ID"] == ident
    assert "Attributes" in ok("node", "status", "-self", "-verbose", agent=agent)
    assert "no node matches prefix 'ffff'" in fails("node", "status", "ffff", agent=agent)


def test_meta_apply_unset_and_read(agent: AgentProcess) -> None:
    assert ok("node", "meta", "apply", "rack=r1", "zone=z1", "tmp=1", agent=agent) == ""
    ok("node", "meta", "apply", "-unset", "tmp,zone", "rack=r2", agent=agent)
    text = ok("node", "meta", "read", agent=agent)
    dynamic = text.split("Dynamic Meta\n", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^rack\s+= r2$", dynamic, re.M)
    assert "zone" not in dynamic and "tmp" not in dynamic
    assert re.search(r"^connect\.log_level\s+= info$", text.split("Static Meta\n", 1)[1], re.M)
    meta = json.loads(ok("node", "meta", "read", "-json", agent=agent))
    assert meta["Dynamic"]["rack"] == "r2" and meta["Meta"]["rack"] == "r2"
    ok("node", "meta", "apply", "-node-id", node_id(agent)[:8], "rack=r3", agent=agent)
    assert json.loads(ok("node", "meta", "read", "-json", agent=agent))["Dynamic"]["rack"] == "r3"
    assert "give -unset KEYS or at least one KEY=VALUE" in fails("node", "meta", "apply", agent=agent, code=2)
    assert "Unexpected response code: 400" in fails("node", "meta", "apply", "bad key=1", agent=agent)


def test_operator_api_get_post_from_stdin_and_headers(agent: AgentProcess) -> None:
    assert json.loads(ok("operator", "api", "/v1/agent/health", agent=agent)) == {
        "client": {"message": "ok", "ok": True}
    }
    body = json.dumps({"Meta": {"from-stdin": "yes"}}).encode()
    posted = json.loads(ok("operator", "api", "/v1/client/metadata", agent=agent, stdin=body))
    assert posted["Dynamic"]["from-stdin"] == "yes"
    # -X wins over the POST a body implies; a query string in the path is kept.
    got = json.loads(
        ok("operator", "api", "-X", "GET", "/v1/client/metadata?pretty=true", agent=agent, stdin=b"")
    )
    assert got["Dynamic"]["from-stdin"] == "yes"
    assert ok("operator", "api", "/v1/client/metadata?pretty=true", agent=agent).startswith("{\n")
    verbose = run("operator", "api", "-verbose", "-H", "X-Test: 1", "/v1/agent/health", agent=agent)
    assert verbose.returncode == 0
    assert "> GET " in err(verbose) and "> X-Test: 1" in err(verbose) and "< HTTP 200" in err(verbose)
    result = run("operator", "api", "-X", "DELETE", "/v1/client/metadata", agent=agent)
    assert result.returncode == 1
    assert out(result).strip() == "Invalid method"
    assert "DELETE /v1/client/metadata answered 405" in err(result)
    assert "headers are 'Key: Value'" in fails(
        "operator", "api", "-H", "nocolon", "/v1/x", agent=agent, code=2
    )
    assert "is not on the agent at" in fails("operator", "api", "http://127.0.0.2:1/v1/jobs", agent=agent)


def test_operator_api_full_url_of_the_agent(agent: AgentProcess) -> None:
    assert '"ok":true' in ok("operator", "api", agent.url + "/v1/agent/health", agent=agent)


def test_system_gc_collects_terminal_allocations(agent: AgentProcess) -> None:
    alloc = register(agent, J.job("gc-me", J.sh("t", "true")))[0]
    wait_dead(agent, alloc["ID"])
    assert ok("system", "gc", agent=agent) == "Garbage collection of terminal allocations started\n"
    wait_for(lambda: not (agent.alloc_dir / alloc["ID"]).exists(), 20, what="the allocation directory to go")

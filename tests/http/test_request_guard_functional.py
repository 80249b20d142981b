"""What an agent without ACLs still refuses: cross-site state changes, foreign Host names on a
loopback agent, raw_exec when not enabled, UUID-named symlinks under the alloc dir."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest

from outrider.cli.main import open_agent_warning
from outrider.config import resolve
from outrider.http.request_guard import CROSS_SITE, FOREIGN_HOST, is_loopback
from outrider.jobs.manager import RAW_EXEC_DISABLED
from tests.conftest import AgentProcess, start_agent, start_configured_agent
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

EVIL = "http://evil.example"


def job_ids(http: httpx.Client) -> list[str]:
    resp = http.get("/v1/jobs")
    assert resp.status_code == 200
    return [j["ID"] for j in resp.json()]


def test_a_text_plain_post_from_another_site_is_refused(agent: AgentProcess, http: httpx.Client) -> None:
    body = httpx.Request("POST", "/", json={"Job": J.job("csrf", J.sh("t", "touch pwned"))}).content
    for headers in (
        {"Origin": EVIL, "Content-Type": "text/plain"},
        {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"},
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": "text/plain"},
    ):
        resp = http.post("/v1/jobs", content=body, headers=headers)
        assert (resp.status_code, resp.text) == (403, CROSS_SITE), headers
    assert "csrf" not in job_ids(http)


def test_state_changing_gets_and_other_methods_from_another_site_are_refused(http: httpx.Client) -> None:
    alloc_id = str(uuid.uuid4())
    for method, path in (
        ("GET", "/v1/client/gc"),
        ("GET", f"/v1/client/allocation/{alloc_id}/gc"),
        ("DELETE", "/v1/job/anything"),
        ("POST", "/v1/client/metadata"),
        ("PUT", "/v1/acl/bootstrap"),
    ):
        resp = http.request(method, path, headers={"Origin": EVIL})
        assert (resp.status_code, resp.text) == (403, CROSS_SITE), path
    # Reads from another site stay as Nomad serves them (CORS), and the agent's own origin may write.
    assert http.get("/v1/jobs", headers={"Origin": EVIL}).status_code == 200
    own = str(http.base_url).rstrip("/")
    resp = http.post("/v1/client/metadata", json={"Meta": {"guard": "own"}}, headers={"Origin": own})
    assert resp.status_code == 200, resp.text


def test_clients_without_origin_keep_working_whatever_the_content_type(http: httpx.Client) -> None:
    body = b'{"Meta": {"guard": "form"}}'
    resp = http.post(
        "/v1/client/metadata", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 200, resp.text
    assert http.get("/v1/client/metadata").json()["Meta"]["guard"] == "form"


def test_a_foreign_host_on_a_loopback_agent_is_refused(agent: AgentProcess, http: httpx.Client) -> None:
    body = httpx.Request("POST", "/", json={"Job": J.job("rebind", J.sh("t", "touch pwned"))}).content
    for method, path, data in (("GET", "/v1/agent/self", b""), ("POST", "/v1/jobs", body)):
        resp = http.request(method, path, content=data, headers={"Host": "evil.example:4646"})
        assert (resp.status_code, resp.text) == (403, FOREIGN_HOST)
    assert "rebind" not in job_ids(http)
    host, port = agent.host_port
    for name in ("localhost", f"localhost:{port}", "127.0.0.2:1", "[::1]:4646", f"{host}:{port}"):
        assert http.get("/v1/agent/health", headers={"Host": name}).status_code == 200, name


def test_configured_origins_and_hosts_are_accepted(tmp_path: Path) -> None:
    proc = start_configured_agent(
        tmp_path,
        'http_api_allowed_origins = ["https://ui.example"]\nhttp_api_allowed_hosts = ["nomad.internal"]\n',
    )
    try:
        with proc.client() as http:
            resp = http.post(
                "/v1/client/metadata", json={"Meta": {"a": "b"}}, headers={"Origin": "https://ui.example"}
            )
            assert resp.status_code == 200, resp.text
            assert http.get("/v1/agent/health", headers={"Host": "nomad.internal:4646"}).status_code == 200
            assert http.get("/v1/agent/health", headers={"Host": "other.internal"}).status_code == 403
    finally:
        assert proc.stop() == 0


def test_raw_exec_is_off_outside_dev_mode(tmp_path: Path) -> None:
    proc = start_agent(tmp_path / "data", dev=False)
    try:
        with proc.client() as http:
            marker = tmp_path / "ran"
            resp = http.post("/v1/jobs", json={"Job": J.job("off", J.sh("t", f"touch {marker}"))})
            assert (resp.status_code, resp.text) == (400, RAW_EXEC_DISABLED)
            assert job_ids(http) == []
            assert http.get("/v1/allocations").json() == []
            assert not marker.exists()
            node = http.get("/v1/nodes").json()[0]
            assert node["Drivers"]["raw_exec"]["Detected"] is False
            assert "driver.raw_exec" not in http.get(f"/v1/node/{node['ID']}").json()["Attributes"]
    finally:
        assert proc.stop() == 0
    # Bound to 127.0.0.1: no warning about an open agent.
    assert not any("ACLs are disabled" in line for line in proc.output)


def test_raw_exec_enabled_by_its_plugin_config(tmp_path: Path) -> None:
    config = tmp_path / "raw.hcl"
    config.write_text('plugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}\n')
    assert resolve(files=[str(config)], environ={}, flags={"data_dir": str(tmp_path)}).raw_exec_enabled
    assert not resolve(environ={}, flags={"data_dir": str(tmp_path)}).raw_exec_enabled
    assert resolve(dev=True, environ={}, flags={"data_dir": str(tmp_path)}).raw_exec_enabled


def test_the_open_agent_warning_says_who_can_do_what(tmp_path: Path) -> None:
    cfg = resolve(environ={}, flags={"data_dir": str(tmp_path)})
    assert not is_loopback(cfg.bind_addr)
    line = open_agent_warning(cfg, "http://0.0.0.0:4646")
    assert "\n" not in line and "ACLs are disabled" in line and "anyone who can reach it" in line
    assert "read every allocation's files and logs" in line
    assert is_loopback("127.3.2.1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("localhost.evil.example")


def test_a_uuid_named_symlink_is_never_served(agent: AgentProcess, http: httpx.Client) -> None:
    alloc_id = str(uuid.uuid4())
    link = agent.alloc_dir / alloc_id
    os.symlink("/", link)
    try:
        resp = http.get(f"/v1/client/fs/ls/{alloc_id}", params={"path": "/etc"})
        assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{alloc_id}"')
        resp = http.get(f"/v1/client/fs/cat/{alloc_id}", params={"path": "etc/passwd"})
        assert resp.status_code == 404
    finally:
        link.unlink()

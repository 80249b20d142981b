"""The jobs API subset: ``/v1/jobs``, ``/v1/job/<id>[/allocations|/summary|/versions]``,
``/v1/allocations``, ``/v1/allocation/<id>[/stop]``.

Routing follows Nomad's handlers: ``/v1/job/`` takes the rest of the path and
recognises a known suffix, so job IDs may contain slashes. Reads carry
``X-Nomad-Index``, ``X-Nomad-KnownLeader`` and ``X-Nomad-LastContact``; writes
carry ``X-Nomad-Index``. Blocking queries (``?index=``, ``?wait=``) are held until
the state's index moves past the one given (:mod:`outrider.http.blocking`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outrider.acl import authorizer as auth
from outrider.agent import Agent
from outrider.allocs import Allocation
from outrider.http.blocking import block
from outrider.http.body import read_json
from outrider.http.errors import APIError, invalid_method, not_run_here
from outrider.http.methods import ANY_METHOD
from outrider.http.params import Query
from outrider.http.prologue import (
    authorize,
    authorize_namespace,
    begin,
    namespaces_listed,
    parse_bool_param,
)
from outrider.http.responses import json_response, query_meta_headers, safe_text
from outrider.jobs import JobError, JobManager
from outrider.jobs.views import alloc_json, alloc_stub, job_json, job_stub, job_summary, job_versions


def _begin(request: Request) -> tuple[Agent, Query, JobManager]:
    agent, query = begin(request)
    return agent, query, agent.jobs


def _namespace(query: Query) -> str:
    # Undecodable bytes cannot name a namespace; U+FFFD keeps them out of the state DB's queries.
    return safe_text(query.get("namespace")) or "default"


def _read(obj: Any, query: Query, jobs: JobManager) -> Response:
    return json_response(obj, query, headers=query_meta_headers(jobs.store.current_index()))


def _write(obj: dict[str, Any], query: Query) -> Response:
    return json_response(obj, query, headers={"X-Nomad-Index": str(obj["Index"])})


def _job_error(exc: JobError) -> APIError:
    return APIError(exc.status, exc.message)


# -- /v1/jobs -------------------------------------------------------------------------------------


async def jobs_root(request: Request) -> Response:
    agent, query, jobs = _begin(request)
    if request.method == "GET":
        namespace = _namespace(query)
        listed = namespaces_listed(request, agent, namespace, auth.LIST_JOBS)
        await block(request, query, agent.index)
        prefix = query.get("prefix")
        records = jobs.store.all(None if namespace == "*" else namespace)
        stubs = [
            job_stub(r, jobs.allocs_of(r.namespace, r.id))
            for r in records
            if r.id.startswith(prefix) and listed(r.namespace)
        ]
        return _read(stubs, query, jobs)
    if request.method in ("PUT", "POST"):
        return await _register(request, agent, query, jobs, None)
    raise invalid_method()


async def _register(
    request: Request, agent: Agent, query: Query, jobs: JobManager, path_id: str | None
) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("Job") is None:
        raise APIError(400, "Job must be specified")
    job = body["Job"]
    namespace = (job.get("Namespace") if isinstance(job, dict) else None) or _namespace(query)
    authorize_namespace(request, agent, namespace, auth.SUBMIT_JOB, auth.REGISTER_JOB)
    try:
        return _write(jobs.register(job, namespace, path_id), query)
    except JobError as exc:
        raise _job_error(exc) from None


# -- /v1/job/<id>... ------------------------------------------------------------------------------


async def job_specific(request: Request) -> Response:
    agent, query, jobs = _begin(request)
    path: str = request.path_params["rest"]
    namespace = _namespace(query)
    for suffix in ("/allocations", "/summary", "/versions"):
        if path.endswith(suffix):
            job_id = path[: -len(suffix)]
            if request.method != "GET":
                raise invalid_method()
            authorize_namespace(request, agent, namespace, auth.READ_JOB)
            if suffix == "/versions":
                parse_bool_param(query, "diffs")  # checked as Nomad does; diffs are not computed
            await block(request, query, agent.index)
            allocs = jobs.allocs_of(namespace, job_id)
            if suffix == "/allocations":
                node = (agent.node_id, agent.config.node_name)
                return _read([alloc_stub(a, agent.runner, *node) for a in allocs], query, jobs)
            rec = jobs.store.get(namespace, job_id)
            if suffix == "/versions":
                if rec is None:
                    raise APIError(404, "job versions not found")
                versions = jobs.store.versions(namespace, job_id)
                index = jobs.store.current_index()
                return _read(job_versions(rec, allocs, versions, index), query, jobs)
            if rec is None:
                raise APIError(404, "job not found")
            return _read(job_summary(rec, allocs), query, jobs)
    if request.method == "GET":
        authorize_namespace(request, agent, namespace, auth.READ_JOB)
        await block(request, query, agent.index)
        rec = jobs.store.get(namespace, path)
        if rec is None:
            raise APIError(404, "job not found")
        return _read(job_json(rec, jobs.allocs_of(namespace, path)), query, jobs)
    if request.method in ("PUT", "POST"):
        return await _register(request, agent, query, jobs, path)
    if request.method == "DELETE":
        purge = parse_bool_param(query, "purge")
        # nomad/job_endpoint.go Deregister: purge-job purges; deregister-job stops without purging.
        stop_caps = () if purge else (auth.DEREGISTER_JOB,)
        authorize_namespace(request, agent, namespace, auth.SUBMIT_JOB, auth.PURGE_JOB, *stop_caps)
        try:
            return _write(jobs.deregister(namespace, path, purge), query)
        except JobError as exc:
            raise _job_error(exc) from None
    raise invalid_method()


# -- /v1/allocations, /v1/allocation/<id> -------------------------------------------------------


async def allocations(request: Request) -> Response:
    agent, query, jobs = _begin(request)
    if request.method != "GET":
        raise invalid_method()
    namespace = _namespace(query)
    listed = namespaces_listed(request, agent, namespace, auth.READ_JOB)
    await block(request, query, agent.index)
    prefix = query.get("prefix")
    with_states = query.get("task_states") != "false"
    found = sorted(
        (
            a
            for a in agent.allocs.listed()
            if a.id.startswith(prefix)
            and (namespace == "*" or a.namespace == namespace)
            and listed(a.namespace)
        ),
        key=lambda a: a.id,
    )
    stubs = []
    for alloc in found:
        stub = alloc_stub(alloc, agent.runner, agent.node_id, agent.config.node_name)
        if not with_states:
            stub["TaskStates"] = None
        stubs.append(stub)
    return _read(stubs, query, jobs)


async def allocation_specific(request: Request) -> Response:
    agent, query, jobs = _begin(request)
    path: str = request.path_params["rest"]
    stop = path.endswith("/stop")
    alloc_id = path[: -len("/stop")] if stop else path
    alloc = _lookup(agent, alloc_id)
    if stop:
        if request.method not in ("PUT", "POST"):
            raise invalid_method()
        authorize(request, agent, alloc, auth.ALLOC_LIFECYCLE)
        if alloc.external:
            raise not_run_here(alloc.id)
        agent.runner.stop_alloc(alloc.id)
        index = agent.db.next_index()
        return _write({"EvalID": "", "Index": index}, query)
    if request.method != "GET":
        raise invalid_method()
    authorize(request, agent, alloc, auth.READ_JOB, hide=True)
    await block(request, query, agent.index)
    return _read(alloc_json(alloc, agent.runner, agent.node_id, agent.config.node_name), query, jobs)


def _lookup(agent: Agent, alloc_id: str) -> Allocation:
    alloc = agent.allocs.get(alloc_id)
    if alloc is None:
        raise APIError(404, "alloc not found")
    return alloc


ROUTES = [
    Route("/v1/jobs", jobs_root, methods=ANY_METHOD),
    Route("/v1/job/{rest:path}", job_specific, methods=ANY_METHOD),
    Route("/v1/allocations", allocations, methods=ANY_METHOD),
    Route("/v1/allocation/{rest:path}", allocation_specific, methods=ANY_METHOD),
]

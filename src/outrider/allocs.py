"""Which allocations this agent knows, and where their directories are.

An allocation is known when the state DB has it (Outrider runs it), or, as an
*external* read-only allocation, when a directory named by a UUID sits directly
under the alloc dir and the DB does not know it. External allocations let
Outrider serve an existing Nomad client's alloc dir as a sidecar; they are
served in namespace ``default`` and never deleted.

A client GC removes an allocation's directory and local state but keeps its
row, marked destroyed: Nomad's servers keep (and list) an allocation a client
collected until they collect it themselves, and here that is when its job is
purged.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from outrider.state.db import StateDB

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
TERMINAL_STATUSES = frozenset({"complete", "failed", "lost"})
# More external allocations than this in the cache means churn: start over. Each
# cached one holds a directory descriptor, so the bound is also a descriptor budget.
_EXTERNAL_CACHE_MAX = 1024
# O_NOFOLLOW: a UUID-named symlink under the alloc dir (say, to /) is not an allocation.
_ROOT_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW
# Directories of an alloc dir that are not tasks (Nomad's client/allocdir layout).
_NON_TASK_DIRS = frozenset({"alloc"})


@dataclass
class Allocation:
    """An allocation as the HTTP layer sees it."""

    id: str
    namespace: str
    path: str
    tasks: list[str]
    job_id: str = ""
    task_group: str = ""
    name: str = ""
    index: int = 0
    client_status: str = "pending"
    desired_status: str = "run"
    create_index: int = 0
    modify_index: int = 0
    create_time: int = 0
    modify_time: int = 0
    external: bool = False
    destroyed: bool = False
    _root_real: str | None = field(default=None, repr=False)
    _root_fd: int | None = field(default=None, repr=False)
    _retired: bool = field(default=False, repr=False)

    @property
    def terminal(self) -> bool:
        return self.client_status in TERMINAL_STATUSES

    def root_real(self) -> str:
        """The allocation directory's real path (symlinks resolved), cached."""
        if self._root_real is None:
            self._root_real = os.path.realpath(self.path)
        return self._root_real

    def root_fd(self) -> int | None:
        """An ``O_PATH`` descriptor of the directory, opened on first use and kept; None once retired.

        Every file request resolves beneath this descriptor, which saves opening
        and closing the directory per request. Only live allocations keep one
        (terminal ones pile up until collected, and are read rarely), so the
        descriptors kept are bounded by the work running plus the external cache.
        Callers use it synchronously on the event loop and never keep it across
        an ``await``: :meth:`retire` may close it at any later point. Raises the
        open's ``OSError``.
        """
        fd = self._root_fd
        if fd is None and not self._retired and not self.terminal:
            fd = self._root_fd = os.open(self.path, _ROOT_FLAGS)
        return fd

    def retire(self) -> None:
        """Close the kept descriptor; later requests open the directory afresh each time."""
        self._retired = True
        fd, self._root_fd = self._root_fd, None
        if fd is not None:
            os.close(fd)


class AllocRegistry:
    """Allocations known to this agent: those in the state DB plus external directories."""

    def __init__(self, db: StateDB, alloc_dir: str) -> None:
        self.db = db
        self.alloc_dir = alloc_dir
        self._owned: dict[str, Allocation] = {}
        self._destroyed: dict[str, Allocation] = {}
        self._external_cache: dict[str, tuple[tuple[int, int], Allocation]] = {}
        os.makedirs(alloc_dir, mode=0o711, exist_ok=True)
        for row in db.query(
            "SELECT id, namespace, job_id, task_group, name, alloc_index, tasks, client_status, "
            "desired_status, create_index, modify_index, create_time, modify_time, collected FROM allocations"
        ):
            alloc = Allocation(
                id=str(row[0]),
                namespace=str(row[1]),
                path=os.path.join(alloc_dir, str(row[0])),
                tasks=list(json.loads(str(row[6]))),
                job_id=str(row[2]),
                task_group=str(row[3]),
                name=str(row[4]),
                index=int(row[5]),  # type: ignore[call-overload]
                client_status=str(row[7]),
                desired_status=str(row[8]),
                create_index=int(row[9]),  # type: ignore[call-overload]
                modify_index=int(row[10]),  # type: ignore[call-overload]
                create_time=int(row[11]),  # type: ignore[call-overload]
                modify_time=int(row[12]),  # type: ignore[call-overload]
                destroyed=bool(row[13]),
            )
            if alloc.destroyed:
                self._destroyed[alloc.id] = alloc
            else:
                self._owned[alloc.id] = alloc

    def get(self, alloc_id: str) -> Allocation | None:
        """Exact-ID lookup (no prefix matching, as Nomad's client endpoints), including locally GC'd ones."""
        alloc = self._owned.get(alloc_id) or self._destroyed.get(alloc_id)
        if alloc is not None:
            return alloc
        return self._external(alloc_id)

    def _external(self, alloc_id: str) -> Allocation | None:
        cached = self._external_cache.get(alloc_id)
        if cached is not None:
            key, alloc = cached
            fd = alloc.root_fd()
            if fd is not None:
                # The kept descriptor still names the directory it was opened on: while
                # that directory is linked and its mtime unchanged, its task directories
                # are too. A removed directory (no links left) or a changed one is looked
                # up again by name.
                st = os.fstat(fd)
                if st.st_nlink and (st.st_ino, st.st_mtime_ns) == key:
                    return alloc
            del self._external_cache[alloc_id]
            alloc.retire()
        if not UUID_RE.match(alloc_id):
            return None
        path = os.path.join(self.alloc_dir, alloc_id)
        try:
            fd = os.open(path, _ROOT_FLAGS)
        except (FileNotFoundError, NotADirectoryError, OSError) as exc:
            if isinstance(exc, (FileNotFoundError, NotADirectoryError)) or exc.errno == errno.ELOOP:
                return None
            raise
        try:
            st = os.fstat(fd)
            with os.scandir(path) as entries:
                tasks = sorted(
                    e.name
                    for e in entries
                    if e.name not in _NON_TASK_DIRS and e.is_dir(follow_symlinks=False)
                )
        except (FileNotFoundError, NotADirectoryError):
            os.close(fd)
            return None
        except BaseException:
            # Any other error (EMFILE, EACCES) is the agent's trouble, not an unknown allocation.
            os.close(fd)
            raise
        alloc = Allocation(
            id=alloc_id,
            namespace="default",
            path=path,
            tasks=tasks,
            client_status="running",
            create_time=st.st_mtime_ns,
            modify_time=st.st_mtime_ns,
            external=True,
            _root_fd=fd,
        )
        if len(self._external_cache) >= _EXTERNAL_CACHE_MAX:
            self._retire_external()
        self._external_cache[alloc_id] = ((st.st_ino, st.st_mtime_ns), alloc)
        return alloc

    def _retire_external(self) -> None:
        for _, alloc in self._external_cache.values():
            alloc.retire()
        self._external_cache.clear()

    def close(self) -> None:
        """Close every kept directory descriptor (the agent is stopping)."""
        self._retire_external()
        for alloc in (*self._owned.values(), *self._destroyed.values()):
            alloc.retire()

    def owned(self) -> Iterable[Allocation]:
        """Allocations Outrider itself runs (not external, not destroyed)."""
        return list(self._owned.values())

    def listed(self) -> list[Allocation]:
        """What the jobs API lists: the allocations Outrider placed, those a client GC destroyed included."""
        return [*self._owned.values(), *self._destroyed.values()]

    def external_ids(self) -> list[str]:
        """The names of the external (sidecar) allocation directories present now, not opened."""
        try:
            with os.scandir(self.alloc_dir) as entries:
                return [
                    e.name
                    for e in entries
                    if UUID_RE.match(e.name)
                    and e.name not in self._owned
                    and e.name not in self._destroyed
                    and e.is_dir(follow_symlinks=False)
                ]
        except OSError:
            return []

    def destroyed(self) -> list[Allocation]:
        """Allocations a client GC destroyed whose job was not purged yet."""
        return list(self._destroyed.values())

    def add(self, alloc: Allocation) -> None:
        """Persist a new allocation Outrider runs."""
        now = time.time_ns()
        alloc.create_time = alloc.create_time or now
        alloc.modify_time = alloc.modify_time or now
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO allocations (id, namespace, job_id, task_group, name, alloc_index, tasks, "
                "client_status, desired_status, create_index, modify_index, create_time, modify_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alloc.id,
                    alloc.namespace,
                    alloc.job_id,
                    alloc.task_group,
                    alloc.name,
                    alloc.index,
                    json.dumps(alloc.tasks),
                    alloc.client_status,
                    alloc.desired_status,
                    alloc.create_index,
                    alloc.modify_index,
                    alloc.create_time,
                    alloc.modify_time,
                ),
            )
        self._owned[alloc.id] = alloc

    def update_status(
        self,
        alloc_id: str,
        *,
        client_status: str | None = None,
        desired_status: str | None = None,
        modify_index: int | None = None,
        persist: bool = True,
    ) -> None:
        """Persist a status change of an owned allocation (with ``persist=False``: make it in memory only).

        The change is made in memory first, so it is what every view shows even when
        the write fails; a later call with ``persist=True`` writes it.
        """
        alloc = self._owned[alloc_id]
        if client_status is not None:
            alloc.client_status = client_status
            if alloc.terminal:
                # Terminal is final: its directory is read rarely from now on.
                alloc.retire()
        if desired_status is not None:
            alloc.desired_status = desired_status
        if modify_index is not None:
            alloc.modify_index = modify_index
        alloc.modify_time = time.time_ns()
        if not persist:
            return
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE allocations SET client_status = ?, desired_status = ?, modify_index = ?, modify_time = ? "
                "WHERE id = ?",
                (alloc.client_status, alloc.desired_status, alloc.modify_index, alloc.modify_time, alloc_id),
            )

    def mark_destroyed(self, alloc_id: str) -> None:
        """Record a client GC: the directory and the tasks' re-attach handles are gone, the record stays.

        The allocation keeps its statuses and task states, and stays known (and
        listed) as destroyed until :meth:`forget`.
        """
        alloc = self._owned.pop(alloc_id)
        with self.db.transaction() as conn:
            conn.execute("UPDATE task_states SET handle = NULL WHERE alloc_id = ?", (alloc_id,))
            conn.execute("UPDATE allocations SET collected = 1 WHERE id = ?", (alloc_id,))
        alloc.destroyed = True
        alloc.retire()
        self._destroyed[alloc_id] = alloc

    def forget(self, alloc_id: str) -> None:
        """Drop a destroyed allocation entirely (its job was purged): no request finds it any more."""
        if alloc_id not in self._destroyed:
            return
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM task_states WHERE alloc_id = ?", (alloc_id,))
            conn.execute("DELETE FROM allocations WHERE id = ?", (alloc_id,))
        self._destroyed.pop(alloc_id, None)

"""The node's metadata: static, dynamic and effective maps, with dynamic changes persisted atomically.

Model and apply algorithm: ``client/meta_endpoint.go`` ``Apply``, ``client/client.go``
``setupNode``. Every change is written in one SQLite transaction (WAL,
``synchronous=FULL``) before the in-memory maps are swapped, so an agent killed at
any instant restarts with either the old or the new dynamic map, and everything
acknowledged with a 200 is on disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping

from outrider.meta.limits import check_map
from outrider.state.db import StateDB
from outrider.state.index_watch import IndexWatch

MetaMap = dict[str, str | None]

_COUNTER = "raft"


class MetaPersistError(RuntimeError):
    """The dynamic map could not be written; nothing changed."""


class MetaStore:
    """Static, dynamic and effective meta of the local node.

    Reads (:meth:`view`, :attr:`meta`) are plain attribute loads on the event
    loop and never wait for a write in progress. Writes go through
    :meth:`apply`, one at a time.
    """

    def __init__(self, db: StateDB, static: Mapping[str, str]) -> None:
        self._db = db
        self.static: dict[str, str] = dict(static)
        dynamic, dropped = self._load()
        if dropped:
            # Startup drops tombstones of keys that are no longer static and writes the
            # cleaned map back (``client/client.go`` ``setupNode``).
            with db.transaction() as conn:
                conn.executemany("DELETE FROM dynamic_meta WHERE key = ?", [(k,) for k in dropped])
        self._dynamic: MetaMap = dynamic
        self._meta: dict[str, str] = _effective(self.static, dynamic)
        self.create_index, modify_index = self._load_indexes()
        # Blocking node queries wait on this, as job and allocation reads wait on the agent's.
        self._index = IndexWatch(modify_index)
        self._lock = asyncio.Lock()

    def _load(self) -> tuple[MetaMap, list[str]]:
        dynamic: MetaMap = {}
        dropped: list[str] = []
        for key, value in self._db.query("SELECT key, value FROM dynamic_meta ORDER BY rowid"):
            k = str(key)
            if value is None and k not in self.static:
                dropped.append(k)
                continue
            dynamic[k] = None if value is None else str(value)
        return dynamic, dropped

    def _load_indexes(self) -> tuple[int, int]:
        created = self._db.node_value("create_index")
        if created is None:
            created = str(self._db.next_index(_COUNTER))
            self._db.set_node_value("create_index", created)
        modified = self._db.node_value("modify_index") or created
        return int(created), int(modified)

    @property
    def meta(self) -> dict[str, str]:
        """The effective meta (do not mutate; it is replaced, never edited, on change)."""
        return self._meta

    @property
    def dynamic(self) -> MetaMap:
        """The dynamic map, tombstones (``None``) included (do not mutate)."""
        return self._dynamic

    def view(self) -> dict[str, dict[str, str | None] | dict[str, str]]:
        """The ``NodeMetaResponse`` body: ``{"Dynamic", "Meta", "Static"}`` (``nomad/structs/node.go``)."""
        return {"Dynamic": self._dynamic, "Meta": self._meta, "Static": self.static}

    async def apply(
        self, changes: Mapping[str, str | None]
    ) -> dict[str, dict[str, str | None] | dict[str, str]]:
        """Apply validated ``changes`` (``None`` unsets) and return the new view.

        Raises :class:`MetaPersistError` when the database refuses the write, and
        :class:`~outrider.meta.limits.MetaLimitError` when the dynamic map would
        grow past its bounds; the maps are then unchanged.
        """
        async with self._lock:
            dynamic = dict(self._dynamic)
            dynamic.update(changes)
            for key, value in changes.items():
                # Tombstones are only kept for static keys (``client/meta_endpoint.go``).
                if value is None and key not in self.static:
                    del dynamic[key]
            check_map(dynamic)
            meta = dict(self._meta)
            for key, value in changes.items():
                if value is None:
                    meta.pop(key, None)
                else:
                    meta[key] = value
            index = await asyncio.to_thread(self._persist, list(changes), dynamic)
            self._dynamic, self._meta = dynamic, meta
            self._index.advanced(index)
            return self.view()

    def _persist(self, keys: list[str], dynamic: MetaMap) -> int:
        try:
            with self._db.transaction() as conn:
                for key in keys:
                    if key in dynamic:
                        conn.execute(
                            "INSERT INTO dynamic_meta (key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            (key, dynamic[key]),
                        )
                    else:
                        conn.execute("DELETE FROM dynamic_meta WHERE key = ?", (key,))
                return _bump_index(conn)
        except sqlite3.Error as exc:
            raise MetaPersistError(f"failed to persist dynamic node metadata: {exc}") from exc

    @property
    def modify_index(self) -> int:
        return self._index.modify_index

    async def wait_for_change(self, index: int, timeout: float) -> None:
        """Return once :attr:`modify_index` exceeds ``index``, or after ``timeout`` seconds."""
        await self._index.wait_for_change(index, timeout)


def _effective(static: Mapping[str, str], dynamic: MetaMap) -> dict[str, str]:
    meta = dict(static)
    for key, value in dynamic.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def _bump_index(conn: sqlite3.Connection) -> int:
    """Advance the shared modify counter and record it as the node's ModifyIndex, in the caller's transaction."""
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (_COUNTER,)).fetchone()
    index = (int(row[0]) if row else 0) + 1
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (_COUNTER, index),
    )
    conn.execute(
        "INSERT INTO node (key, value) VALUES ('modify_index', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (str(index),),
    )
    return index

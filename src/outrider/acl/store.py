"""ACL policies and tokens in the state DB, with Nomad's indexes.

Every write takes the next index of the state's one counter (Nomad's Raft
index) and records it as the table's last index (``acl_policy``,
``acl_token``); the first bootstrap's index is kept as ``acl_bootstrap``.

Tokens are found by AccessorID through its UUID-index key, and by SecretID
through the SHA-256 of the secret: the state never holds a secret, so a copy
of ``state.db`` (or its WAL) gives no way in. A digest found is compared again
in constant time before it is trusted.
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from outrider.acl.policy_record import PolicyRecord
from outrider.acl.token import ACLToken
from outrider.acl.uuids import secret_digest
from outrider.state.db import StateDB

POLICY_TABLE = "acl_policy"
TOKEN_TABLE = "acl_token"
BOOTSTRAP = "acl_bootstrap"


class SecretInUse(Exception):
    """Another token already has this SecretID."""


class _StaleBootstrap(Exception):
    pass


BOOTSTRAP_KEY = "bootstrap"


def policy_key(name: str) -> str:
    """The replication key of policy ``name`` (hex, so any name is a valid key)."""
    return "policy." + name.encode("utf-8", "surrogateescape").hex()


def token_key(accessor_key: str) -> str:
    return "token." + accessor_key


@dataclass(frozen=True)
class ACLChange:
    """One write to the ACL state as agents sharing it exchange it.

    ``key`` is :func:`policy_key`, :func:`token_key` or ``bootstrap``; ``value`` is
    None for a deletion, else the stored form: a policy's state, or a token's state
    and the hex SHA-256 of its secret (never the secret).
    """

    key: str
    value: dict[str, str] | None


class ACLStore:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        # Bumped on every policy write, so compiled ACLs can be cached and dropped at once.
        self.policy_generation = 0
        self.on_policy_change: list[Callable[[], None]] = []
        # Told of every write made here (not of those applied from elsewhere with apply()).
        self.on_change: list[Callable[[ACLChange], None]] = []

    def _changed(self, *changes: ACLChange) -> None:
        for callback in self.on_change:
            for change in changes:
                callback(change)

    # -- indexes -----------------------------------------------------------------------------

    def table_index(self, table: str) -> int:
        return self.db.current_index(table)

    def bootstrap_index(self) -> int | None:
        rows = self.db.query("SELECT value FROM counters WHERE name = ?", (BOOTSTRAP,))
        return int(rows[0][0]) if rows else None  # type: ignore[call-overload]

    # -- policies ----------------------------------------------------------------------------

    def policy(self, name: str) -> PolicyRecord | None:
        rows = self.db.query("SELECT policy FROM acl_policies WHERE name = ?", (name,))
        return PolicyRecord.from_state(str(rows[0][0])) if rows else None

    def policies(self) -> list[PolicyRecord]:
        """Every policy, ordered by name in byte order."""
        rows = self.db.query("SELECT policy FROM acl_policies")
        found = [PolicyRecord.from_state(str(row[0])) for row in rows]
        return sorted(found, key=lambda p: p.name.encode("utf-8", "surrogateescape"))

    def upsert_policy(self, record: PolicyRecord) -> int:
        """Store ``record``, keeping the creation index of a policy it replaces; return the index."""
        with self.db.indexed_transaction(tables=(POLICY_TABLE,)) as (conn, index):
            row = conn.execute("SELECT policy FROM acl_policies WHERE name = ?", (record.name,)).fetchone()
            record.create_index = PolicyRecord.from_state(row[0]).create_index if row else index
            record.modify_index = index
            conn.execute(
                "INSERT INTO acl_policies (name, policy) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET policy = excluded.policy",
                (record.name, record.to_state()),
            )
        self._policies_changed()
        self._changed(ACLChange(policy_key(record.name), {"policy": record.to_state()}))
        return index

    def delete_policy(self, name: str) -> int:
        """Delete ``name`` (a missing one is not an error); return the write's index."""
        with self.db.indexed_transaction(tables=(POLICY_TABLE,)) as (conn, index):
            conn.execute("DELETE FROM acl_policies WHERE name = ?", (name,))
        self._policies_changed()
        self._changed(ACLChange(policy_key(name), None))
        return index

    def _policies_changed(self) -> None:
        self.policy_generation += 1
        for callback in self.on_policy_change:
            callback()

    # -- tokens ------------------------------------------------------------------------------

    def token(self, accessor_key: str) -> ACLToken | None:
        rows = self.db.query("SELECT token FROM acl_tokens WHERE accessor_key = ?", (accessor_key,))
        return ACLToken.from_state(str(rows[0][0])) if rows else None

    def token_by_secret(self, secret: str) -> ACLToken | None:
        digest = secret_digest(secret)
        rows = self.db.query("SELECT secret_hash, token FROM acl_tokens WHERE secret_hash = ?", (digest,))
        if not rows or not hmac.compare_digest(bytes(rows[0][0]), digest):  # type: ignore[arg-type]
            return None
        return ACLToken.from_state(str(rows[0][1]))

    def secret_matches(self, accessor_key: str, secret: str) -> bool:
        """Whether ``secret`` is the SecretID of the token ``accessor_key``, compared in constant time."""
        rows = self.db.query("SELECT secret_hash FROM acl_tokens WHERE accessor_key = ?", (accessor_key,))
        return bool(rows) and hmac.compare_digest(bytes(rows[0][0]), secret_digest(secret))  # type: ignore[arg-type]

    def tokens(self) -> list[ACLToken]:
        """Every token, by creation index then accessor."""
        rows = self.db.query("SELECT token FROM acl_tokens ORDER BY create_index, accessor_key")
        return [ACLToken.from_state(str(row[0])) for row in rows]

    def upsert_token(self, accessor_key: str, token: ACLToken, secret: str | None) -> int:
        """Store ``token`` at a new index; ``secret`` is ``None`` to keep the stored one (an update)."""
        with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, index):
            if token.create_index == 0:
                token.create_index = index
            token.modify_index = index
            self._write_token(conn, accessor_key, token, secret)
        self._changed(self._token_change(accessor_key))
        return index

    def bootstrap(self, accessor_key: str, token: ACLToken, secret: str, expected: int | None) -> int | None:
        """Store the bootstrap token and make its index the bootstrap index, provided the bootstrap
        index is still ``expected`` (``None``: never bootstrapped). ``None`` when it no longer is."""
        try:
            with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, index):
                row = conn.execute("SELECT value FROM counters WHERE name = ?", (BOOTSTRAP,)).fetchone()
                if (None if row is None else int(row[0])) != expected:
                    raise _StaleBootstrap()  # rolls the transaction back: no index is spent
                conn.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                    (BOOTSTRAP, index, index),
                )
                token.create_index = token.modify_index = index
                self._write_token(conn, accessor_key, token, secret)
        except _StaleBootstrap:
            return None
        self._changed(self._token_change(accessor_key), ACLChange(BOOTSTRAP_KEY, {"done": "true"}))
        return index

    @staticmethod
    def _write_token(
        conn: sqlite3.Connection, accessor_key: str, token: ACLToken, secret: str | None
    ) -> None:
        if secret is None:
            conn.execute(
                "UPDATE acl_tokens SET token = ?, create_index = ? WHERE accessor_key = ?",
                (token.to_state(), token.create_index, accessor_key),
            )
            return
        try:
            conn.execute(
                "INSERT INTO acl_tokens (accessor_key, secret_hash, create_index, token) VALUES (?, ?, ?, ?)",
                (accessor_key, secret_digest(secret), token.create_index, token.to_state()),
            )
        except sqlite3.IntegrityError:
            raise SecretInUse() from None

    def delete_token(self, accessor_key: str) -> int:
        with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, index):
            conn.execute("DELETE FROM acl_tokens WHERE accessor_key = ?", (accessor_key,))
        self._changed(ACLChange(token_key(accessor_key), None))
        return index

    def delete_expired(self, before_ns: int) -> int:
        """Delete tokens that expired before ``before_ns``; how many went (no index is taken for none)."""
        rows = self.db.query("SELECT accessor_key, token FROM acl_tokens")
        expired = [
            str(key)
            for key, text in rows
            if (t := ACLToken.from_state(str(text))).expiration_time is not None
            and t.expiration_time < before_ns
        ]
        if not expired:
            return 0
        with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, _index):
            conn.executemany("DELETE FROM acl_tokens WHERE accessor_key = ?", [(key,) for key in expired])
        self._changed(*(ACLChange(token_key(key), None) for key in expired))
        return len(expired)

    # -- sharing with other agents ---------------------------------------------------------------

    def _token_change(self, accessor_key: str) -> ACLChange:
        rows = self.db.query(
            "SELECT secret_hash, token FROM acl_tokens WHERE accessor_key = ?", (accessor_key,)
        )
        if not rows:
            return ACLChange(token_key(accessor_key), None)
        return ACLChange(
            token_key(accessor_key),
            {"secret_hash": bytes(rows[0][0]).hex(), "token": str(rows[0][1])},  # type: ignore[arg-type]
        )

    def snapshot(self) -> list[ACLChange]:
        """Everything stored, as the changes that would rebuild it elsewhere."""
        changes = [ACLChange(policy_key(p.name), {"policy": p.to_state()}) for p in self.policies()]
        for row in self.db.query("SELECT accessor_key FROM acl_tokens"):
            changes.append(self._token_change(str(row[0])))
        if self.bootstrap_index() is not None:
            changes.append(ACLChange(BOOTSTRAP_KEY, {"done": "true"}))
        return changes

    def apply(self, change: ACLChange) -> None:
        """Make a change written elsewhere here too, at a new index, without telling ``on_change``.

        A value this version cannot read is ignored, and so is a token whose secret
        digest another token here already has.
        """
        kind, _, name = change.key.partition(".")
        value = change.value
        if kind == "policy":
            self._apply_policy(bytes.fromhex(name).decode("utf-8", "surrogateescape"), value)
        elif kind == "token":
            self._apply_token(name, value)
        elif change.key == BOOTSTRAP_KEY and value is not None and self.bootstrap_index() is None:
            with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, index):
                conn.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                    (BOOTSTRAP, index),
                )

    def _apply_policy(self, name: str, value: dict[str, str] | None) -> None:
        with self.db.indexed_transaction(tables=(POLICY_TABLE,)) as (conn, _index):
            if value is None:
                conn.execute("DELETE FROM acl_policies WHERE name = ?", (name,))
            else:
                conn.execute(
                    "INSERT INTO acl_policies (name, policy) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET policy = excluded.policy",
                    (name, value["policy"]),
                )
        self._policies_changed()

    def _apply_token(self, accessor_key: str, value: dict[str, str] | None) -> None:
        try:
            with self.db.indexed_transaction(tables=(TOKEN_TABLE,)) as (conn, _index):
                if value is None:
                    conn.execute("DELETE FROM acl_tokens WHERE accessor_key = ?", (accessor_key,))
                    return
                token = ACLToken.from_state(value["token"])
                conn.execute(
                    "INSERT INTO acl_tokens (accessor_key, secret_hash, create_index, token) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(accessor_key) DO UPDATE SET secret_hash = excluded.secret_hash, "
                    "create_index = excluded.create_index, token = excluded.token",
                    (accessor_key, bytes.fromhex(value["secret_hash"]), token.create_index, value["token"]),
                )
        except sqlite3.IntegrityError:
            return

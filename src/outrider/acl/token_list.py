"""``GET /v1/acl/tokens``: selection by accessor prefix, order and pagination (``ListTokens``).

Without ``?prefix=`` tokens come by creation index, then AccessorID, and a page
token is ``<CreateIndex>.<AccessorID>``; with it, by AccessorID, and a page
token is the AccessorID. A ``next_token`` that names no token resumes at the
first one past it, as Nomad's paginator does.
"""

from __future__ import annotations

from dataclasses import dataclass

from outrider.acl.token import ACLToken
from outrider.acl.uuids import index_key


@dataclass
class Page:
    tokens: list[ACLToken]
    next_token: str


def _compare(a: str, b: str) -> int:
    return (a > b) - (a < b)


def _index_token(token: ACLToken) -> str:
    return f"{token.create_index}.{token.accessor_id}"


def _index_compare(token: ACLToken, target: str) -> int:
    """``CreateIndexAndIDTokenizer``: the index numerically, then the ID; a malformed target as text."""
    index_text, sep, accessor = target.partition(".")
    if not sep or not index_text.isdigit():
        return _compare(_index_token(token), target)
    index = int(index_text)
    if token.create_index == index:
        return _compare(token.accessor_id, accessor)
    return 1 if token.create_index > index else -1


def select(
    tokens: list[ACLToken], prefix_key: str | None, reverse: bool, per_page: int, next_token: str
) -> Page:
    """One page of ``tokens`` (ordered by creation index, then accessor).

    ``prefix_key`` is the UUID-index form of ``?prefix=`` (already validated), or ``None``.
    """
    if prefix_key is not None:
        # The UUID index orders by the decoded bytes: lowercase hex order.
        chosen = sorted(
            (t for t in tokens if index_key(t.accessor_id).startswith(prefix_key)),
            key=lambda t: index_key(t.accessor_id),
        )
        token_of, compare = (lambda t: t.accessor_id), (lambda t, target: _compare(t.accessor_id, target))
    else:
        chosen = list(tokens)
        token_of, compare = _index_token, _index_compare
    if reverse:
        chosen.reverse()
    if next_token:
        # Skip to the first token at (or, in reverse order, below) the one asked for.
        sign = -1 if reverse else 1
        start = next((i for i, t in enumerate(chosen) if sign * compare(t, next_token) >= 0), len(chosen))
        chosen = chosen[start:]
    if per_page and len(chosen) > per_page:
        return Page(chosen[:per_page], token_of(chosen[per_page]))
    return Page(chosen, "")

"""The per-client connection cap's count, with fleet members exempt."""

from __future__ import annotations

from outrider.connlimit import PerClientLimit


def test_exempt_addresses_are_never_capped_and_release_what_they_took() -> None:
    members = {"10.0.0.6"}
    limit = PerClientLimit(2, lambda address: address in members)
    assert [limit.admit("10.0.0.9") for _ in range(3)] == [True, True, False]
    assert all(limit.admit("10.0.0.6") for _ in range(50))
    # The member leaves the fleet with its connections open: closing them frees nobody else's count.
    members.clear()
    for _ in range(50):
        limit.release("10.0.0.6")
    assert limit.admit("10.0.0.6") and limit.admit("10.0.0.6") and not limit.admit("10.0.0.6")
    assert not limit.admit("10.0.0.9")
    limit.release("10.0.0.9")
    assert limit.admit("10.0.0.9")

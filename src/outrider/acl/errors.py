"""Errors of the ACL layer that carry their HTTP status and Nomad's text."""

from __future__ import annotations


class ACLRequestError(Exception):
    """A refused ACL request: ``status`` and the plain-text body Nomad answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def multierror(prefix: str, errors: list[str]) -> str:
    """go-multierror's text behind ``prefix`` (``token 0 invalid: ``)."""
    count = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
    return prefix + count + ":\n" + "".join(f"\t* {e}\n" for e in errors) + "\n"

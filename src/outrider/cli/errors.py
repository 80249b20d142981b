"""What a command can fail with, in words for the person who ran it.

Every failure a command expects ends as a :class:`CLIError`: one line that says
what failed, and a hint that says what to do. The entry point prints it and exits
1; nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class CLIError(Exception):
    """A failure to report as ``Error: <message>`` with an optional hint line."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class APIError(CLIError):
    """The agent answered with an error status; ``text`` is its body."""

    def __init__(self, status: int, text: str, hint: str = "", *, token_given: bool = True) -> None:
        self.status = status
        self.text = text.strip()
        super().__init__(
            f"Unexpected response code: {status} ({self.text})",
            hint or hint_for(status, self.text, token_given),
        )


def hint_for(status: int, text: str, token_given: bool = True) -> str:
    """What to do about the errors every endpoint can answer with."""
    if text == "ACL token not found" or text == "ACL token expired":
        return "set NOMAD_TOKEN (or -token) to the secret ID of a valid token"
    if status == 403 and not token_given:
        # Without a token the agent applies its anonymous policy, which lacks the capability.
        return "no token was given: set NOMAD_TOKEN (or -token) to the secret ID of a token that has it"
    if status == 403:
        return "the token in NOMAD_TOKEN (or -token) lacks the capability this needs; ask for one that has it"
    if text == "ACL support disabled":
        return "enable ACLs in the agent's config: acl { enabled = true }"
    return ""

"""Durable agent state in SQLite."""

from outrider.state.db import StateDB

__all__ = ["StateDB"]

"""Errors shared across the package."""
from __future__ import annotations


class UnknownNameError(KeyError):
    """A task, metric, space or protocol looked up by a name that does not exist.

    A KeyError, so ``except KeyError`` still catches it; its message prints as written, where a
    plain KeyError's would print in quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

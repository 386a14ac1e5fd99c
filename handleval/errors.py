"""Exceptions with messages meant for people, not stack traces.

Every error a user can cause (bad handle, bad file, missing data, broken bundle) is a ``HandlevalError``;
the CLI prints its message and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HandlevalError(Exception):
    """Base class: the message is what the user sees."""


class InvalidHandle(HandlevalError, ValueError):
    """A handle that breaks the rules of its platform; ``reason`` says which rule, in words."""

    def __init__(self, raw: object, reason: str, platform: str | None = None):
        self.raw = raw
        self.reason = reason
        self.platform = platform
        super().__init__(reason)


class DataDirNotFound(HandlevalError):
    """The data directory (``HANDLEVAL_DATA`` or ``../shared/data``) does not exist."""


class DataFormatError(HandlevalError):
    """An input or data file cannot be read or lacks required columns."""


class BundleError(HandlevalError):
    """A model bundle is missing, corrupt, foreign, or built with different lexicons."""


class ConfigError(HandlevalError):
    """A YAML config does not validate."""


class ColumnCollisionError(DataFormatError):
    """Input columns that ``what``'s outputs would overwrite (``collisions``): refused, an input column is never
    overwritten; ``prefix`` names the outputs apart (``example`` is the prefix the message suggests)."""

    def __init__(self, collisions: list[str], prefix: str, what: str = "flag", example: str = "flag_",
                 command_line: bool = True):
        self.collisions = collisions
        way = f"--prefix {example} on the command line, prefix='{example}' in Python" if command_line else \
            f"prefix='{example}'"
        hint = f"choose another prefix than {prefix!r}" if prefix else f"give the outputs a prefix ({way})"
        super().__init__(f"the input already has column(s) {', '.join(collisions)}, which {what} would overwrite; "
                         f"{hint}. Input columns are never overwritten")


def output_collisions(input_columns: Sequence[Any], output_names: Sequence[str]) -> list[str]:
    """The input columns that output columns named ``output_names`` (prefix included) would overwrite, in output
    order, once each: the one check behind every command's rule that an input column is never overwritten."""
    present = {str(c) for c in input_columns}
    return list(dict.fromkeys(n for n in output_names if n in present))

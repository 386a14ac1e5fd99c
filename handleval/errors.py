"""Exceptions with messages meant for people, not stack traces.

Every error a user can cause (bad handle, bad file, missing data, broken bundle) is a ``HandlevalError``;
the CLI prints its message and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations


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

"""Exceptions with messages meant for people, not stack traces.

Every error a user can cause (bad handle, bad file, missing data, broken bundle) is a ``HandlevalError``;
the CLI prints its message and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


class HandlevalWarning(UserWarning):
    """Work went ahead on something that deserves a look: input read with a repair (Windows-1252 cells, ragged rows) or
    empty, sales files changed since the model was trained. The CLI prints it as one plain line."""


class ColumnCollisionError(DataFormatError):
    """Input columns (``collisions``) that ``what``'s outputs would overwrite: refused, an input column is never
    overwritten. The message suggests a prefix that no input column starts with (``input_columns``), for Python
    and, with ``command_line``, for the commands' ``--prefix``; ``where`` (the input file) starts it."""

    def __init__(self, collisions: list[str], prefix: str = "", what: str = "the output",
                 input_columns: Sequence[Any] = (), command_line: bool = True, where: str = ""):
        self.collisions = collisions
        free = next((p for p in ("hv_", "hv2_", "handleval_", "handleval2_")
                     if not any(str(c).startswith(p) for c in input_columns)), "my_")
        way = f"in Python prefix='{free}', on the command line --prefix {free}" if command_line else \
            f"prefix='{free}'"
        hint = f"choose another prefix than {prefix!r}" if prefix else "give the output columns a prefix"
        super().__init__(f"{where}the input already has column(s) {', '.join(map(repr, collisions))}, which {what} "
                         f"would overwrite; {hint} ({way}) or rename those input columns. Input columns are never "
                         "overwritten")


def check_prefix(prefix: object) -> None:
    """:class:`HandlevalError` for a ``prefix`` that is no text (``3`` gave a column '3p_bot' in one call and a
    TypeError in another)."""
    if not isinstance(prefix, str):
        raise HandlevalError(f"prefix is the text put before each output name ('hv_'), not {prefix!r}")


def case_hint(wanted: Iterable[str], columns: Sequence[Any]) -> str:
    """`` (did you mean 'Handle'? names are case-sensitive)`` when an input column differs from a wanted name only
    in case or surrounding space, a note on ';' or a tab when a column is wanted names joined by it (a European
    Excel export, a TSV named .csv), a nested name written with '_' for its dot, else ``""``: the part of a
    missing-column message that says why."""
    exact = set(wanted)
    lowered = {w.lower() for w in exact}
    close = next((str(c) for c in columns if str(c) not in exact and str(c).strip().lower() in lowered), None)
    if close:
        return f" (did you mean {close!r}? names are case-sensitive)"
    for sep, what, fix in ((";", "';'", "save it with commas"), ("\t", "tabs", "name it .tsv")):
        joined = next((str(c) for c in columns if sep in str(c) and exact & set(str(c).split(sep))), None)
        if joined:
            return f" ({joined!r}: a file separated by {what} is read as CSV with ',': {fix})"
    dotted = {w.replace(".", "_"): w for w in exact if "." in w}  # json_normalize(sep="_"), other flatteners
    flat = next((str(c) for c in columns if str(c).strip() in dotted), None)
    return f" (did you mean {dotted[flat.strip()]!r} for {flat!r}? a nested name is written with a dot)" if flat \
        else ""


def repeated(items: Iterable[Any]) -> list[Any]:
    """The items that occur more than once, each once, in the order of their second occurrence."""
    seen: set[Any] = set()
    return list(dict.fromkeys(x for x in items if x in seen or seen.add(x)))


def check_unique_columns(columns: Sequence[Any], where: str = "the input", read: Iterable[str] | None = None) -> None:
    """:class:`DataFormatError` when two columns share a name that a step reads (``read``; default every name):
    which of the two it read would be chance. Labels compare as they are (``1`` is not ``'1'``)."""
    wanted = None if read is None else set(read)
    twice = sorted({repr(c) for c in repeated(columns) if wanted is None or c in wanted})
    if twice:
        raise DataFormatError(f"{where} has more than one column named {', '.join(twice)}: rename them")


def output_collisions(input_columns: Sequence[Any], output_names: Sequence[str]) -> list[str]:
    """The input columns that output columns named ``output_names`` (prefix included) would overwrite, in output
    order, once each: the one check behind every command's rule that an input column is never overwritten."""
    present = {str(c) for c in input_columns}
    return list(dict.fromkeys(n for n in output_names if n in present))

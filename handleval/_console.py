"""rich's console, wrapping text at a terminal's width only: in a pipe, a log or CI a long path stays whole (rich
would break it at 80 characters, mid-word). Tables are laid out at the width either way."""

from __future__ import annotations

from typing import Any

from rich.console import Console as _RichConsole


class Console(_RichConsole):
    """:class:`rich.console.Console` whose ``print`` soft-wraps (leaves lines whole) when not on a terminal."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs.setdefault("soft_wrap", not self.is_terminal)
        super().print(*objects, **kwargs)

"""Load reports: every row a loader rejects is counted with its reason, per source, never dropped silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class SourceReport:
    """What happened to one source file/folder while loading it."""

    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    malformed: str | None = None  # set by a check that finds the set damaged beyond its tolerance
    examples: dict[str, list[int]] = field(default_factory=dict)  # reason -> first few rows (0-based, in the file)

    def reject(self, reason: str, count: int = 1, rows: Sequence[int] | np.ndarray = ()) -> None:
        """Count ``count`` rows rejected for ``reason``; ``rows`` (their positions in the file) keeps the first
        few, so that an error about a file of your own can name the lines to fix."""
        if count:
            self.rejected[reason] += count
            shown = self.examples.setdefault(reason, [])
            shown.extend(int(r) for r in rows[:max(0, 3 - len(shown))])

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def ok(self) -> bool:
        """A source is healthy when every row it read was either loaded or rejected for a stated reason."""
        return (self.malformed is None and self.rows_loaded > 0
                and self.rows_read == self.rows_loaded + self.rows_rejected)


@dataclass
class LoadReport:
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def source(self, name: str) -> SourceReport:
        return self.sources.setdefault(name, SourceReport(name))

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources.values())

    def merge(self, other: LoadReport) -> LoadReport:
        self.sources.update(other.sources)
        return self

    def to_rows(self) -> list[dict[str, object]]:
        """One row per (source, reason) for printing or logging."""
        rows: list[dict[str, object]] = []
        for s in self.sources.values():
            base = {"source": s.source, "read": s.rows_read, "loaded": s.rows_loaded, "rejected": s.rows_rejected}
            if not s.rejected:
                rows.append({**base, "reason": ""})
            for reason, count in s.rejected.most_common():
                rows.append({**base, "reason": f"{count} × {reason}"})
        return rows

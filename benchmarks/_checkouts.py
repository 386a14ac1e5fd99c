"""The command line the start-up benchmarks share: how many fresh processes, and another checkout to alternate with."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checkouts_from_args(description: str) -> tuple[int, dict[str, Path]]:
    """``--runs`` and the checkouts to measure alternately: this one, and ``--against``'s if given."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout, measured alternately with this one")
    args = parser.parse_args()
    return args.runs, {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})

"""What checking a bundle's LightGBM trees before parsing them costs (``_malformed_trees``, handleval/trees/bundle.py).

Run: ``python benchmarks/bench_tree_check.py [--runs 3]``. Reads each ``models/<kind>/*.txt`` as bytes and times the
check in this process, best of ``--runs``; prints the trees and seconds per bundle. ``load_accounts`` checks its
three files at every load; a price load only on a forest-cache miss.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handleval.trees.bundle import _malformed_trees  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}; best of {runs}")
    for kind in ("accounts", "price"):
        texts = [p.read_bytes() for p in sorted((ROOT / "models" / kind).glob("*.txt"))]
        trees = sum(t.count(b"\nTree=") for t in texts)
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            assert all(_malformed_trees(t) == "" for t in texts)
            best = min(best, time.perf_counter() - start)
        print(f"{kind}: {len(texts)} files, {trees:,} trees, {best:.2f} s")


if __name__ == "__main__":
    main()

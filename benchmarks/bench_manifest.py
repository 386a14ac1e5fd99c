"""What recording a finished part costs as a batch run grows: the manifest journal against a full rewrite.

    python benchmarks/bench_manifest.py                 # 20,000 parts: 2 billion rows at 100,000 rows a part
    python benchmarks/bench_manifest.py --parts 3000

``journal`` is what the engine does (``Manifest.add``: one fsynced line per part). ``rewrite`` is what it did
until round 7: ``Manifest.add`` followed by ``Manifest.save``, which writes the whole ``_manifest.json`` with every
part so far, atomically, after every part. Records look like a Dask run's. Writes to a temporary directory on the
same file system as ``--work`` (fsync costs depend on it). Speed lives here, never in timed tests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from handleval.batch import MANIFEST_FORMAT, Manifest  # noqa: E402


def _record(index: int) -> dict[str, object]:
    return {"index": index, "file": f"part-{index:05d}.parquet", "rows": 100_000, "errors": 6_354,
            "sha256": f"{index:064x}", "seconds": 4.1234, "row_start": index * 100_000,
            "row_stop": (index + 1) * 100_000, "source": {"file": f"in/part.{index // 16}.parquet",
                                                         "row_group": index % 16}}


def measure(parts: int, mode: str, work: Path, checkpoints: list[int]) -> list[tuple[int, float, float]]:
    """(parts so far, ms for the last add, s in total so far) at each checkpoint."""
    out: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        manifest = Manifest(Path(tmp), {"format": MANIFEST_FORMAT, "parts": [], "complete": False})
        manifest.save()
        started = time.perf_counter()
        for i in range(parts):
            mark = time.perf_counter()
            manifest.add(_record(i))
            if mode == "rewrite":
                manifest.save()
            if i + 1 in checkpoints:
                now = time.perf_counter()
                out.append((i + 1, (now - mark) * 1e3, now - started))
        mark = time.perf_counter()
        manifest.save()  # the end of a run folds the journal into the manifest
        out.append((parts, (time.perf_counter() - mark) * 1e3, time.perf_counter() - started))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=20_000)
    parser.add_argument("--rewrite-parts", type=int, default=3_000,
                        help="parts for the old full rewrite (it is quadratic: 20,000 would take hours)")
    parser.add_argument("--work", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for mode, parts in (("journal", args.parts), ("rewrite", args.rewrite_parts)):
        checkpoints = sorted({c for c in (100, 1_000, 3_000, 10_000, 20_000, parts) if c <= parts})
        rows = measure(parts, mode, args.work, checkpoints)
        for done, last_ms, total in rows[:-1]:
            print(f"{mode:<8} {done:>7,} parts: this add {last_ms:8.2f} ms, all adds so far {total:8.1f} s")
        print(f"{mode:<8} final save of {parts:,} parts: {rows[-1][1]:.0f} ms")


if __name__ == "__main__":
    main()

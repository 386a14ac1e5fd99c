"""End-to-end batch scoring benchmark (issue 7): handles/s per core, peak RSS, Dask 1 -> 2 worker speed-up.

    python benchmarks/bench_predict.py                 # 1,000,000 handles, table to benchmarks/out/bench_predict.md
    python benchmarks/bench_predict.py --rows 10000000 --skip-dask   # the 10M peak-memory check

Each scenario runs in its own process (``--one``) so that peak RSS (its VmHWM) is that scenario's alone.
Scorers: ``predict`` = ``handleval.predict.load().value_many`` (read, features, model, intervals, reasons, write)
when the price bundle ``models/price/manifest.json`` exists; ``engine`` = the engine alone with a simple real
scorer (``tests/code/batch_scorers.length_scorer``: ``parse_handle`` per row), which is the floor the engine
itself costs. Speed lives here, never in timed tests. The table goes to ``--out``; the lead pastes it into the
README (this script does not edit the README).

TODO(flag): add ``flag`` accounts/s once ``handleval.accounts`` has a batch scorer for an accounts file (the
account columns it needs are not a handle list, so the input generator must change too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

WORDS = ["pizza", "crypto", "king", "shop", "ai", "elon", "bank", "x", "gold", "news", "moon", "cat"]


def make_predict_scorer() -> object:
    """Factory for the price model's scorer: loaded once per process (once per Dask worker)."""
    from handleval.predict import load

    valuer = load()
    return lambda frame: valuer.value_many(frame)


def make_predict_noreasons_scorer() -> object:
    """The price model without reasons (``handleval predict --no-reasons``): price and interval only."""
    from handleval.predict import load

    valuer = load()
    return lambda frame: valuer.value_many(frame, reasons=False)


def make_engine_scorer() -> object:
    from tests.code.batch_scorers import length_scorer

    return length_scorer


def _handles(n: int) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(7)
    a = rng.integers(0, len(WORDS), n)
    b = rng.integers(0, len(WORDS), n)
    d = rng.integers(0, 10_000, n)
    kind = rng.integers(0, 4, n)
    out = []
    for i in range(n):
        k = kind[i]
        if k == 0:
            out.append(WORDS[a[i]])
        elif k == 1:
            out.append(f"{WORDS[a[i]]}{WORDS[b[i]]}")
        elif k == 2:
            out.append(f"{WORDS[a[i]]}_{d[i]}")
        else:
            out.append(f"user{d[i]:04d}{i % 97}")
    return out


def _inputs(rows: int, work: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path, pq_path = work / f"handles-{rows}.csv", work / f"handles-{rows}.parquet"
    if not csv_path.exists() or not pq_path.exists():
        handles = _handles(rows)
        csv_path.write_text("handle\n" + "\n".join(handles) + "\n", encoding="utf-8")
        pq.write_table(pa.table({"handle": handles}), pq_path, row_group_size=max(rows // 16, 1))
    return csv_path, pq_path


def _one(args: argparse.Namespace) -> None:
    from handleval.batch import run_batch

    summary = run_batch(args.input, args.output, None, scorer_factory=("bench_predict", args.factory, {}),
                        chunk_rows=args.chunk_rows, overwrite=True, quiet=True, engine=args.engine,
                        n_workers=args.workers)
    # VmHWM, not wait4's ru_maxrss: Linux carries ru_maxrss across fork+exec, so the child would inherit the
    # parent's peak (the parent holds the generated handles); VmHWM belongs to this process image alone.
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    print(json.dumps({**summary.to_dict(), "peak_rss_mb": int(hwm.split()[1]) / 1024}))


def _run(scenario: str, factory: str, inp: Path, out: Path, engine: str = "local", workers: int = 1,
         chunk_rows: int = 100_000) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", "--factory", factory, "--input", str(inp),
           "--output", str(out), "--engine", engine, "--workers", str(workers), "--chunk-rows", str(chunk_rows)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{stderr[-3000:]}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    summary.update(scenario=scenario, wall=time.perf_counter() - started)
    print(f"{scenario:<34} {summary['rows_scored']:>10,} rows {summary['seconds']:8.1f}s "
          f"{summary['rows_per_second']:>10,.0f} rows/s  peak RSS {summary['peak_rss_mb']:,.0f} MB", flush=True)
    return summary


def _speedup(one: dict, two: dict) -> float:
    return (one["seconds"] - one["setup_seconds"]) / max(two["seconds"] - two["setup_seconds"], 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=HERE / "out")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "bench_predict.md")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--scorer", choices=["auto", "predict", "predict_noreasons", "engine"], default="auto")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--factory", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--chunk-rows", type=int, default=100_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return

    args.work.mkdir(parents=True, exist_ok=True)
    csv_path, pq_path = _inputs(args.rows, args.work)
    have_model = (ROOT / "models" / "price" / "manifest.json").exists()
    scorers = {"auto": ["engine", "predict"] if have_model else ["engine"], "predict": ["predict"],
               "predict_noreasons": ["predict_noreasons"], "engine": ["engine"]}[args.scorer]
    results = []
    for name in scorers:
        factory = f"make_{name}_scorer"
        results.append(_run(f"{name}: local, CSV in, 1 core", factory, csv_path, args.work / "o-csv"))
        results.append(_run(f"{name}: local, Parquet in, 1 core", factory, pq_path, args.work / "o-pq"))
        if not args.skip_dask:
            one = _run(f"{name}: dask, 1 worker", factory, pq_path, args.work / "o-d1", "dask", 1)
            two = _run(f"{name}: dask, 2 workers", factory, pq_path, args.work / "o-d2", "dask", 2)
            results += [one, two]
            print(f"{name}: dask speed-up 1 -> 2 workers: {_speedup(one, two):.2f}x (excluding cluster start-up)")

    lines = [
        f"### Batch scoring benchmark ({dt.date.today().isoformat()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()})",
        "",
        f"{args.rows:,} handles, `python benchmarks/bench_predict.py`. `engine` = the batch engine with a trivial "
        "scorer (parse_handle per row); `predict` = the price model end to end.",
        "",
        "| scenario | rows/s | seconds (of which cluster start) | peak RSS (driver) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r['scenario']} | {r['rows_per_second']:,.0f} | {r['seconds']:.1f} "
                     f"({r['setup_seconds']:.1f}) | "
                     f"{r['peak_rss_mb']:,.0f} MB |")
    for name in scorers:
        d = {r["scenario"]: r for r in results if r["scenario"].startswith(name + ": dask")}
        if len(d) == 2:
            one, two = d[f"{name}: dask, 1 worker"], d[f"{name}: dask, 2 workers"]
            lines.append(f"\n{name}: Dask speed-up 1 -> 2 workers: **{_speedup(one, two):.2f}x** (scoring time, "
                         f"excluding cluster start-up of {one['setup_seconds']:.1f}s / {two['setup_seconds']:.1f}s)")
    if not have_model:
        lines.append("\n(models/price/manifest.json not found: predict rows not measured; train the bundle first)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\ntable written to {args.out}")


if __name__ == "__main__":
    main()

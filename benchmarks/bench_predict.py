"""End-to-end batch scoring benchmark (issue 7): rows/s per core, peak RSS, Dask 1 -> 2 worker speed-up, flag.

    python benchmarks/bench_predict.py                      # everything; table to benchmarks/out/bench_predict.md
    python benchmarks/bench_predict.py --readme             # ... and into benchmarks/RESULTS.md between the markers
    python benchmarks/bench_predict.py --scorer engine --scorer predict_noreasons --skip-local   # Dask only
    python benchmarks/bench_predict.py --rows 10000000 --scorer engine --skip-dask   # the 10M peak-memory check

Each scenario runs in its own process (``--one``) so that peak RSS (its VmHWM) is that scenario's alone, with the
thread pools of OpenMP/BLAS/Arrow pinned to one thread: "1 core" means one core. Scorers:

* ``engine``: the batch engine with a trivial real scorer (``tests/code/batch_scorers.length_scorer``:
  ``parse_handle`` per row), the floor the engine itself costs;
* ``predict`` / ``predict_noreasons`` / ``predict_comps``: the price model end to end (``handleval predict``
  with and without reasons, and with ``--comps``), when ``models/price/manifest.json`` exists;
* ``flag`` / ``flag_noreasons``: the account flagger end to end (``handleval flag``) on synthetic accounts.

Inputs (generated once into ``--work``, never committed): handles are
``bench_features.real_looking_handles`` (Tranco labels, English words, Census name combinations, random strings;
80% X / 10% Telegram / 10% .com; it reads those reference lists at run time); accounts are random but plausible
Twitter v1.1 user objects from :func:`synthetic_accounts` (no real account data). Parquet inputs have 16 row
groups, so the Dask engine has 16 parts to spread.

Dask: every run starts its own ``LocalCluster``; its ``dask_timings`` split the wall-clock into cluster start-up
(``setup``), worker warm-up (imports plus building the scorer once per worker, in parallel: ``warmup``),
``scoring`` (first part submitted to last part recorded) and ``teardown``. The speed-up is stated twice:
scoring only, and scoring plus warm-up; cluster start-up and teardown are excluded from both. 1-worker and
2-worker runs go back to back, ``--dask-repeat`` times, alternating which goes first, with the load average before
each (a shared machine). Each pair's speed-up is split into the workers' busy share (the engine) and the cost of
the same parts in each window (the machine), from the seconds each part records in the manifest.
Speed lives here, never in timed tests.
"""

from __future__ import annotations

import os

_PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
os.environ.update(_PINNED)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import string  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

README_START = "<!-- bench_predict:start -->"
README_END = "<!-- bench_predict:end -->"
HANDLE_SCORERS = ("engine", "predict", "predict_noreasons", "predict_comps")
ACCOUNT_SCORERS = ("flag", "flag_noreasons")


# ============================================================================================ scorer factories
def make_predict_scorer() -> object:
    """The price model's scorer, with reasons (``handleval predict``): loaded once per process / Dask worker."""
    from handleval.price.predict import batch_scorer

    return batch_scorer()


def make_predict_noreasons_scorer() -> object:
    """The price model without reasons (``handleval predict --no-reasons``): price and interval only."""
    from handleval.price.predict import batch_scorer

    return batch_scorer(reasons=False)


def make_predict_comps_scorer() -> object:
    """The price model with reasons and the comparables column (``handleval predict --comps``)."""
    from handleval.price.predict import batch_scorer

    return batch_scorer(comparables=True)


def make_engine_scorer() -> object:
    """The engine alone: ``parse_handle`` per row, no model."""
    from tests.code.batch_scorers import length_scorer

    return length_scorer


def make_flag_scorer() -> object:
    """The account flagger as ``handleval flag`` runs it (bot, dormancy, reasons from path attributions)."""
    from handleval.accounts.flag import batch_scorer

    return batch_scorer()


def make_flag_noreasons_scorer() -> object:
    """The account flagger without reasons: every other column as ``flag``."""
    from handleval.accounts.flag import batch_scorer

    return batch_scorer(reasons=False)


# ============================================================================================ inputs
_FIRST = ["anna", "ben", "carla", "dmitri", "elif", "farah", "gus", "hana", "ivan", "jo", "kemal", "lena", "maya",
          "nico", "olu", "priya", "quinn", "rosa", "sam", "tomas", "uma", "vik", "wen", "xia", "yusuf", "zoe"]
_LAST = ["smith", "garcia", "kim", "nguyen", "okafor", "rossi", "schmidt", "tanaka", "dubois", "silva", "khan",
         "novak", "berg", "costa", "lopez", "meyer", "ivanova", "park", "chen", "ali"]
_TOPICS = ["love", "coffee", "music", "travel", "crypto", "news", "daily", "photo", "tech", "art", "dad", "mom",
           "football", "gamer", "writer", "design", "science", "bot", "updates", "official", "fan", "life", "dev",
           "vegan", "books", "film", "deals", "weather", "quotes", "follow", "café", "東京", "música", "🎮"]
_PLACES = ["London", "Lagos", "New York, NY", "São Paulo", "Berlin", "Tokyo", "Mumbai", "Paris", "Toronto",
           "Sydney", "Earth", "🌍", "Istanbul", "Mexico City"]


def synthetic_accounts(n: int, seed: int = 11) -> Any:
    """``n`` random but plausible Twitter v1.1 user objects, as the text columns of a CSV export.

    Why synthetic: the benchmark must not ship (or need) real account data. Counts are log-normal, account ages
    up to 14 years, half the rows carry ``last_active_at``, dates mix the Twitter and ISO formats, display names
    and descriptions mix names, topics, hashtags, mentions, links and non-ASCII text, and ~1% of rows are broken
    (unparseable date, negative count, no screen name) so that the error path is timed too."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    first, last, topics = np.array(_FIRST), np.array(_LAST), np.array(_TOPICS)
    f, sur = rng.choice(first, n), rng.choice(last, n)
    num = rng.integers(0, 100_000, n).astype(str)
    alnum = np.array(list(string.ascii_letters + string.digits))
    rand = np.array(["".join(row[:k]) for row, k in zip(rng.choice(alnum, (n, 14)).tolist(),
                                                          rng.integers(6, 15, n), strict=True)])
    cap, add = np.char.capitalize, np.char.add
    styles = [add(f, sur), add(add(cap(f), "_"), cap(sur)), add(f, np.char.mod("%d", rng.integers(0, 1000, n))),
              rand, add(rng.choice(topics[:30], n), sur), add(add(f, sur), num)]
    screen = np.choose(rng.integers(0, len(styles), n), styles)
    screen = np.array([s[:15] for s in screen.tolist()], dtype=object)
    display = np.choose(rng.integers(0, 4, n), [add(add(cap(f), " "), cap(sur)), add(add(cap(f), " "), num),
                                                  add(add(rng.choice(topics, n), " "), add(sur, " bot")),
                                                  np.full(n, "")])
    extra = np.where(rng.random(n) < 0.3, add("#", rng.choice(topics[:30], n)), "")
    extra = add(extra, np.where(rng.random(n) < 0.2, add(" @", add(f, sur)), ""))
    extra = add(extra, np.where(rng.random(n) < 0.15, add(" https://t.co/", rand), ""))
    desc = [" ".join(w[:j]) + (" " + e if e else "") if j else ""
            for w, j, e in zip(rng.choice(topics, (n, 9)).tolist(), rng.integers(0, 10, n).tolist(),
                               extra.tolist(), strict=True)]

    observed = pd.Timestamp("2020-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 4 * 365 * 86400, n), "s")
    age = rng.integers(1, 14 * 365, n)
    created = observed - pd.to_timedelta(age * 86400 + rng.integers(0, 86400, n), "s")
    created_text = np.where(rng.random(n) < 0.3, created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            created.strftime("%a %b %d %H:%M:%S +0000 %Y"))
    idle = np.minimum(rng.exponential(60.0, n).astype(int), age)
    last_text = np.where(rng.random(n) < 0.5, (observed - pd.to_timedelta(idle, "D")).strftime("%Y-%m-%d"), "")
    counts = {c: np.floor(np.exp(rng.normal(0, 2, n)) * m).astype(np.int64)
              for c, m in (("statuses_count", 800), ("followers_count", 150), ("friends_count", 200),
                           ("favourites_count", 900), ("listed_count", 3))}
    broken = rng.random(n)
    created_text = np.where(broken < 0.004, "13/13/2013", created_text)
    counts["followers_count"] = np.where((broken >= 0.004) & (broken < 0.007), -1, counts["followers_count"])
    screen = np.where((broken >= 0.007) & (broken < 0.01), "", screen)
    tf = np.array(["True", "False"])
    return pd.DataFrame({
        "id": np.arange(10**12, 10**12 + n).astype(str), "screen_name": screen, "name": display,
        "description": desc, "url": np.where(rng.random(n) < 0.3, add("https://example.org/", num), ""),
        "location": np.where(rng.random(n) < 0.6, rng.choice(_PLACES, n), ""),
        "created_at": created_text, "observed_at": observed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_active_at": last_text, **{c: v.astype(str) for c, v in counts.items()},
        "verified": rng.choice(tf, n, p=[0.02, 0.98]), "default_profile": rng.choice(tf, n, p=[0.4, 0.6]),
        "default_profile_image": rng.choice(tf, n, p=[0.1, 0.9]), "geo_enabled": rng.choice(tf, n),
        "protected": rng.choice(tf, n, p=[0.05, 0.95]),
    })


def distinct_handles(rows: int, seed: int) -> Any:
    """``rows`` real-looking handles, each once: X usernames are unique, while ``real_looking_handles`` draws
    site labels and words with replacement (its 1M file holds 574,103 distinct (handle, platform) pairs, and a chunk's
    repeats are featurised once). Drawn from a larger sample, so the mix leans towards names and random strings."""
    from bench_features import real_looking_handles

    frame = real_looking_handles(rows * 4, seed).drop_duplicates("handle")
    if len(frame) < rows:
        raise SystemExit(f"only {len(frame):,} distinct handles in a sample of {rows * 4:,}")
    return frame.iloc[:rows].reset_index(drop=True)


def distinct_count(path: Path) -> int:
    """Distinct (handle, platform) pairs of an input file: what a chunk can featurise once."""
    import pyarrow.parquet as pq

    table = pq.read_table(path.with_suffix(".parquet"), columns=["handle", "platform"]).to_pandas()
    return len(table.drop_duplicates())


def _write_inputs(frame: Any, stem: Path) -> tuple[Path, Path]:
    """CSV and Parquet (16 row groups) copies of ``frame``, written once and reused."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path, pq_path = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, csv_path)
    pq.write_table(table, pq_path, row_group_size=max(-(-len(frame) // 16), 1))
    return csv_path, pq_path


def _inputs(kind: str, rows: int, work: Path) -> tuple[Path, Path]:
    stem = work / f"{kind}-{rows}"
    if stem.with_suffix(".csv").exists() and stem.with_suffix(".parquet").exists():
        return stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    print(f"generating {rows:,} {kind} ...", flush=True)
    if kind == "handles-real":
        from bench_features import real_looking_handles

        frame = real_looking_handles(rows, seed=7)
    elif kind == "handles-distinct":
        frame = distinct_handles(rows, seed=7)
    else:
        frame = synthetic_accounts(rows)
    return _write_inputs(frame, stem)


# ============================================================================================ one scenario
def _one(args: argparse.Namespace) -> None:
    from handleval.batch import Manifest, run_batch

    summary = run_batch(args.input, args.output, None, scorer_factory=("bench_predict", args.factory, {}),
                        required_columns=(args.require,), chunk_rows=args.chunk_rows, overwrite=True, quiet=True,
                        engine=args.engine, n_workers=args.workers)
    # VmHWM, not wait4's ru_maxrss: Linux carries ru_maxrss across fork+exec, so the child would inherit the
    # parent's peak (the parent holds the generated inputs); VmHWM belongs to this process image alone.
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    parts = Manifest.load(Path(args.output)).parts  # type: ignore[union-attr]
    print(json.dumps({**summary.to_dict(), "peak_rss_mb": int(hwm.split()[1]) / 1024,
                      "part_seconds": sum(p["seconds"] for p in parts.values()),
                      "part_cpu_seconds": sum(p["cpu_seconds"] for p in parts.values())}))


REFERENCE_ITERATIONS = 6_000_000


def machine_reference() -> float:
    """Seconds ``bench_stages.cpu_loop(REFERENCE_ITERATIONS)`` (a fixed pure-Python loop) takes right now, in its
    own process.

    This VM's speed drifts by 20% or more within an hour, on identical work; each scenario records this
    reference just before it runs. It follows only part of the drift: slow moments hit the memory-heavy scoring
    harder than this loop (``benchmarks/RESULTS.md``, round 6)."""
    from bench_stages import cpu_loop

    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", cpu_loop(REFERENCE_ITERATIONS)], check=True)
    return time.perf_counter() - started


def _run(scenario: str, scorer: str, inp: Path, out: Path, engine: str = "local", workers: int = 1,
         chunk_rows: int = 100_000) -> dict[str, Any]:
    env = {**os.environ,  # pinned thread pools (_PINNED) included
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")])}
    require = "screen_name" if scorer in ACCOUNT_SCORERS else "handle"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", "--factory", f"make_{scorer}_scorer",
           "--input", str(inp), "--output", str(out), "--engine", engine, "--workers", str(workers),
           "--chunk-rows", str(chunk_rows), "--require", require]
    reference = machine_reference()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    summary.update(scenario=scenario, scorer=scorer, engine=engine, workers=workers, load_before=load,
                   wall=time.perf_counter() - started, reference_seconds=reference)
    extra = ""
    if summary.get("dask_timings"):
        t = summary["dask_timings"]
        extra = (f"  [start {t['setup']:.1f}s, warm-up {t['warmup']:.1f}s, scoring {t['scoring']:.1f}s, "
                 f"teardown {t['teardown']:.1f}s]")
    print(f"{scenario:<42} {summary['rows_scored']:>10,} rows {summary['seconds']:8.1f}s "
          f"{summary['rows_per_second']:>9,.0f} rows/s  peak RSS {summary['peak_rss_mb']:,.0f} MB  "
          f"load {load:.2f}  CPU reference {reference:.2f}s{extra}", flush=True)
    return summary


def _scoring(r: dict[str, Any]) -> float:
    return r["dask_timings"]["scoring"]


def _with_warmup(r: dict[str, Any]) -> float:
    return r["dask_timings"]["scoring"] + r["dask_timings"]["warmup"]


def _equal_speed(one: dict[str, Any], two: dict[str, Any]) -> float:
    """The scoring speed-up had the same parts taken as much CPU time in both windows: the VM's speed drift
    between the two runs taken out, everything the engine and Dask cost left in."""
    return _scoring(one) / _scoring(two) * two["part_cpu_seconds"] / one["part_cpu_seconds"]


def _busy(r: dict[str, Any]) -> float:
    """Share of the scoring window the workers spent inside parts: what the engine controls."""
    return r["part_seconds"] / (r["workers"] * _scoring(r))


# ============================================================================================ report
def machine() -> str:
    """CPU model, cores, memory and Python, for the table header."""
    model = platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
        model = f"{found.group(1).strip()} ({platform.machine()})" if found else model
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        memory = f", {int(mem.group(1)) / 2**20:.0f} GiB" if mem else ""
    except OSError:
        memory = ""
    return f"{model}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}, {platform.system()}"


def report(local: list[dict[str, Any]], pairs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
           args: argparse.Namespace, started_load: tuple[float, float, float]) -> str:
    """The markdown block (also what goes between the README markers)."""
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"Batch scoring end to end (`python benchmarks/bench_predict.py`), {when}, {machine()}; "
        f"load average at start {started_load[0]:.2f} / {started_load[1]:.2f} / {started_load[2]:.2f} "
        "(1/5/15 min). Each scenario is its own process with OpenMP/BLAS/Arrow pinned to one thread; handles are "
        "`bench_features.real_looking_handles`, accounts are synthetic user objects; seconds include reading "
        "the input, loading the model and writing the output. *CPU ref.* is the seconds a fixed pure-Python "
        "loop (`bench_stages.cpu_loop`, 6 million iterations) took just before the scenario: the VM's speed drifts by "
        "20% or more within an hour, and a larger reference means a slower moment.",
        "",
    ]
    inputs = sorted({(r["input_path"], r["rows_in"]) for r in local if "handles" in Path(r["input_path"]).name})
    if inputs:
        lines += ["Distinct handles per input (a chunk featurises each distinct handle once): " + "; ".join(
            f"`{Path(p).name}` {distinct_count(Path(p)):,} of {n:,}" for p, n in inputs) + ".", ""]
    if local:
        lines += ["| scenario | rows | seconds | rows/s (1 core) | peak RSS | load before | CPU ref. (s) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in local:
            lines.append(f"| {r['scenario']} | {r['rows_scored']:,} | {r['seconds']:.1f} | "
                         f"{r['rows_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} MB | {r['load_before']:.2f} | "
                         f"{r['reference_seconds']:.2f} |")
        lines.append("")
    if pairs:
        lines += [
            f"Dask `LocalCluster`, 1 and 2 workers (1 thread each), {args.dask_rows:,} rows of Parquet in 16 row "
            "groups (16 parts); pairs alternate which runs first (1 w then 2 w, then 2 w then 1 w, ...) so that a "
            "steady drift of the VM's speed does not favour one side. *Scoring* = first part submitted to last "
            "part recorded; *warm-up* = imports and building the scorer once per worker (in parallel); cluster "
            "start-up and teardown are excluded from both speed-ups. Each part records its own wall seconds and "
            "its scoring thread's CPU seconds in the manifest, which splits the scoring speed-up: speed-up = 2 × "
            "(busy, 2 w / busy, 1 w) × (part wall-seconds, 1 w / 2 w). *Busy* is the share of the scoring window "
            "the workers spent inside parts (what the engine's scheduling controls). *Part wall-seconds* is what "
            "the same 16 parts cost in all; its *CPU-seconds* growing in the 2-worker window means the same work "
            "took more CPU time, i.e. each core ran slower while both were busy (the machine); wall above CPU is "
            "time the scoring thread waited (disk, or other processes on its core). *At equal CPU speed* = the "
            "scoring speed-up × (part CPU-seconds, 2 w / 1 w): what it would be had the same parts taken as much "
            "CPU time in both windows. It takes out the VM's speed drift and keeps every cost of the engine and "
            "Dask (scheduling, waiting); it would also take out the two workers slowing each other down through "
            "shared caches, which would show as CPU-seconds higher in every 2-worker run.",
            "",
            "| scorer | run | load before (1 w / 2 w) | CPU ref. (s, 1 w / 2 w) | 1 worker: scoring + warm-up (s) "
            "| 2 workers: scoring + warm-up (s) | busy (1 w / 2 w) | part wall-seconds (1 w / 2 w) "
            "| part CPU-seconds (1 w / 2 w) | speed-up, scoring only | at equal CPU speed | speed-up incl. warm-up |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for scorer, runs in pairs.items():
            for i, (one, two) in enumerate(runs, 1):
                lines.append(
                    f"| {scorer} | {i} | {one['load_before']:.2f} / {two['load_before']:.2f} | "
                    f"{one['reference_seconds']:.2f} / {two['reference_seconds']:.2f} | "
                    f"{_scoring(one):.1f} + {one['dask_timings']['warmup']:.1f} | "
                    f"{_scoring(two):.1f} + {two['dask_timings']['warmup']:.1f} | "
                    f"{_busy(one):.1%} / {_busy(two):.1%} | {one['part_seconds']:.1f} / {two['part_seconds']:.1f} | "
                    f"{one['part_cpu_seconds']:.1f} / {two['part_cpu_seconds']:.1f} | "
                    f"**{_scoring(one) / _scoring(two):.2f}x** | {_equal_speed(one, two):.2f}x | "
                    f"{_with_warmup(one) / _with_warmup(two):.2f}x |")
        lines.append("")
        for scorer, runs in pairs.items():
            ratios = sorted(_scoring(one) / _scoring(two) for one, two in runs)
            busy = sorted(_busy(two) for _, two in runs)
            equal = sorted(_equal_speed(one, two) for one, two in runs)
            lines.append(f"{scorer}: scoring speed-up over {len(runs)} pairs: median {statistics.median(ratios):.2f}x "
                         f"(lowest {ratios[0]:.2f}x, highest {ratios[-1]:.2f}x); at equal CPU speed "
                         f"{equal[0]:.2f}-{equal[-1]:.2f}x; 2 workers busy {statistics.median(busy):.1%} of the "
                         "window (median).  ")
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme: Path, block: str) -> None:
    """Put ``block`` between the bench markers of ``readme``; without markers, add them at the end of the
    ``## Benchmarks`` section (or of the file)."""
    text = readme.read_text(encoding="utf-8")
    fenced = f"{README_START}\n{block.rstrip()}\n{README_END}"
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        text = head + fenced + tail
    else:
        section = re.search(r"^## Benchmarks[^\n]*\n", text, re.MULTILINE)
        if section:
            following = re.search(r"^## ", text[section.end():], re.MULTILINE)
            at = section.end() + following.start() if following else len(text)
            text = text[:at].rstrip("\n") + "\n\n" + fenced + "\n\n" + text[at:].lstrip("\n")
        else:
            text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + fenced + "\n"
    readme.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# ============================================================================================ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="handles for the local scenarios")
    parser.add_argument("--flag-rows", type=int, default=100_000, help="accounts for the flag scenarios")
    parser.add_argument("--dask-rows", type=int, default=400_000,
                        help="rows for the Dask speed-up runs (200,000 made scoring windows of 5-10 s at ~25,000 rows/s"
                             " a worker: short enough for the VM's hiccups to move the ratio by 0.3)")
    parser.add_argument("--dask-repeat", type=int, default=3, help="1-worker/2-worker pairs per scorer")
    parser.add_argument("--scorer", action="append", choices=[*HANDLE_SCORERS, *ACCOUNT_SCORERS],
                        help="repeatable; default: every scorer (predict ones only if the price bundle exists)")
    parser.add_argument("--dask-scorer", action="append", choices=[*HANDLE_SCORERS, *ACCOUNT_SCORERS],
                        help="scorers for the Dask speed-up (default: those of --scorer among engine, "
                             "predict_noreasons)")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / "out")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "bench_predict.md")
    parser.add_argument("--readme", action="store_true",
                        help="also write the table into benchmarks/RESULTS.md (between its markers)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--factory", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--require", default="handle", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--chunk-rows", type=int, default=100_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return

    have_model = (ROOT / "models" / "price" / "manifest.json").exists()
    scorers = args.scorer or [s for s in (*HANDLE_SCORERS, *ACCOUNT_SCORERS)
                              if have_model or not s.startswith("predict")]
    dask_scorers = args.dask_scorer or [s for s in scorers if s in ("engine", "predict_noreasons")]
    args.work.mkdir(parents=True, exist_ok=True)
    started_load = os.getloadavg()

    local: list[dict[str, Any]] = []
    if not args.skip_local:
        for scorer in scorers:
            kind, rows = ("accounts", args.flag_rows) if scorer in ACCOUNT_SCORERS else ("handles-real", args.rows)
            csv_path, pq_path = _inputs(kind, rows, args.work)
            local.append(_run(f"{scorer}: local, CSV in, 1 core", scorer, csv_path, args.work / "o-csv"))
            local.append(_run(f"{scorer}: local, Parquet in, 1 core", scorer, pq_path, args.work / "o-pq"))
            if scorer == "predict":  # the same on handles that never repeat, as a list of X usernames
                _, unique_path = _inputs("handles-distinct", rows, args.work)
                local.append(_run(f"{scorer}: local, Parquet in, 1 core, every handle distinct", scorer,
                                  unique_path, args.work / "o-pq"))

    pairs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    if not args.skip_dask:
        for scorer in dask_scorers:
            kind = "accounts" if scorer in ACCOUNT_SCORERS else "handles-real"
            _, pq_path = _inputs(kind, args.dask_rows, args.work)
            for i in range(args.dask_repeat):
                runs = {}
                for workers in ((1, 2) if i % 2 == 0 else (2, 1)):  # alternate: a drift favours neither side
                    runs[workers] = _run(f"{scorer}: dask, {workers} worker{'s' * (workers > 1)} (run {i + 1})",
                                         scorer, pq_path, args.work / f"o-d{workers}", "dask", workers)
                one, two = runs[1], runs[2]
                pairs.setdefault(scorer, []).append((one, two))
                print(f"{scorer}: speed-up 1 -> 2 workers {_scoring(one) / _scoring(two):.2f}x scoring only, "
                      f"{_with_warmup(one) / _with_warmup(two):.2f}x including warm-up", flush=True)

    block = report(local, pairs, args, started_load)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(block, encoding="utf-8")
    (args.out.with_suffix(".json")).write_text(json.dumps({"local": local, "dask": pairs}, indent=1),
                                               encoding="utf-8")
    print(f"\n{block}\ntable written to {args.out}")
    if args.readme:
        update_readme(ROOT / "benchmarks" / "RESULTS.md", block)
        print("benchmarks/RESULTS.md updated between", README_START, "and", README_END)


if __name__ == "__main__":
    main()

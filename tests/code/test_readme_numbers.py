"""The README's model tables are the committed bundles' manifests: a retrain that changes a number fails here
until the README says the same."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: README row labels of the price table, per market in the manifest.
PRICE_ROWS = {"Fragment, Telegram": "fragment_telegram", "DASH, e-mail": "dash_email",
              "NameBio 2024": "namebio_domains", "NameBio 2015-20": "namebio_2015_2020",
              "DN Journal, reported": "dnjournal_domains"}


def _rows(header: str) -> dict[str, list[str]]:
    """The cells of the README table whose header row starts with ``header``, keyed by the first cell."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _manifest(kind: str) -> dict:
    return json.loads((ROOT / "models" / kind / "manifest.json").read_text(encoding="utf-8"))


def _pct(value: float, places: int = 0) -> str:
    return f"{value * 100:.{places}f}%".replace("-", "−")


def test_the_price_table_is_the_manifests():
    metrics = _manifest("price")["metrics"]
    rows = _rows("market (test sales)")
    assert len(rows) == len(PRICE_ROWS)
    for label, cells in rows.items():
        name, n = re.fullmatch(r"(.+) \(([\d,]+)\)", label).groups()
        model, median = metrics["model"][PRICE_ROWS[name]], metrics["baseline_market_median"][PRICE_ROWS[name]]
        assert cells == [f"{model['rmse_ln']:.3f}", _pct(model["rmse_ln"] / median["rmse_ln"] - 1, 1),
                         f"{model['spearman']:.3f}", _pct(model["within_2x"]), _pct(model["coverage_10_90"])], name
        assert n == f"{model['n']:,.0f}", name


def test_the_premium_name_numbers_are_the_manifests():
    """The paragraph under the price table: tier medians, the held-out high end, repeat sales and the Fragment goal."""
    manifest = _manifest("price")
    checks, model = manifest["checks"], manifest["metrics"]["model"]["fragment_telegram"]
    median = manifest["metrics"]["baseline_market_median"]["fragment_telegram"]
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    tiers = " · ".join(f"${checks['tiers'][f'median_{t}']:,.0f}" for t in "ABCDE")
    expected = [f"ranks with Spearman {checks['tiers']['spearman']:.2f} (medians {tiers})",
                f"DN Journal's newest top sales {checks['high_end']['spearman']:.2f}, median price/actual "
                f"{checks['high_end']['median_ratio']:.2f}",
                f"{_pct(checks['repeat_sales']['within_2x'])} of repeat sales within 2× "
                f"({_pct(checks['repeat_sales']['within_2x_learned_only'])} without the own-sale rule)",
                f"({_pct(model['rmse_ln'] / median['rmse_ln'] - 1, 1)}, {model['spearman']:.3f})"]
    assert [e for e in expected if e not in text] == []


def test_the_account_table_is_the_manifests():
    lodo = {row["held_out"]: row for row in _manifest("accounts")["metrics"]["lodo"]}
    rows = _rows("held out (trained without it)")
    assert len(rows) == 9
    for name, cells in rows.items():
        got = lodo[name]
        assert cells == [f"{got['n']:,.0f}", f"{got['auc']:.3f}", f"{got['precision@thr']:.2f}",
                         f"{got['recall@thr']:.2f}", _pct(got["fpr_humans@thr"], 1)], name

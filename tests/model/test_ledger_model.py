"""The native-market switch: a small model trained with a made-up ledger of X sales prices X from those sales (no
proxy, no published rare-handle formula), reports X's held-out metrics, and still prices Instagram by proxy."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from handleval.config import ExtraSource
from tests.model.conftest import small_price_config

WORDS = ["pizza", "coffee", "music", "travel", "money", "garden", "rocket", "planet", "summer", "winter", "dragon",
         "silver", "golden", "market", "studio", "camera", "energy", "bridge", "forest", "island"]


def made_up_x_ledger(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """MADE-UP X handle sales (not real data): words around $4,000, 3-4 letters around $3,000, junk around $150,
    log-normal noise, dated over 2024 to mid-2025."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    handles, prices = [], []
    for kind in rng.choice(["word", "short", "junk"], size=n, p=[0.3, 0.2, 0.5]):
        if kind == "word":
            handle, base = str(rng.choice(WORDS)) + ("" if rng.random() < 0.5 else str(rng.integers(1, 99))), 4000
        elif kind == "short":
            handle, base = "".join(rng.choice(letters, rng.integers(3, 5))), 3000
        else:
            handle, base = "".join(rng.choice(letters, 6)) + "_" + str(rng.integers(100, 9999)), 150
        handles.append(handle)
        prices.append(round(base * rng.lognormal(0, 0.4), 2))
    days = pd.to_timedelta(rng.integers(0, 540, n), unit="D")
    return pd.DataFrame({"handle": handles, "price": prices, "currency": "USD",
                         "sold_at": (pd.Timestamp("2024-01-01") + days).strftime("%Y-%m-%d")})


@pytest.fixture(scope="module")
def ledger_model(tmp_path_factory):
    """Telegram (Fragment) sales plus 300 made-up X sales; small and single-threaded (tiny data: threads only wait)."""
    from handleval.price.train import train_price

    root = tmp_path_factory.mktemp("ledger")
    made_up_x_ledger().to_csv(root / "x_ledger.csv", index=False)
    base = small_price_config()
    cfg = small_price_config(sources=["fragment_telegram"], max_rows_per_source=600, max_rounds=100,
                             params={**base.params, "num_threads": 1},
                             extra_sources=[ExtraSource(path=str(root / "x_ledger.csv"), platform="x")])
    return train_price(cfg, root / "price", quiet=True)


@pytest.fixture(scope="module")
def ledger_valuer(ledger_model):
    from handleval.price.predict import load

    return load(ledger_model.bundle_dir)


def test_a_platform_with_its_own_sales_is_its_own_market(ledger_model, ledger_valuer):
    n = ledger_model.manifest["training_data"]["x_ledger"]["rows_loaded"]
    assert n == 300 and ledger_model.manifest["market_sales"]["x"] == n
    out = ledger_valuer.value_many(pd.DataFrame({"handle": ["qwerty_5821", "qwerty_5821", "coffee"],
                                                "platform": ["x", "instagram", "x"]}))
    assert out["market_basis"].tolist() == ["X sales (n=300)", "proxy: Telegram sales (Instagram has no public sales)",
                                            "X sales (n=300)"]
    # A name shaped like the ledger's junk is priced near its made-up $150 level on X (within 2x), above the
    # Telegram proxy's junk, and below the ledger's words.
    junk_x, junk_proxy, word_x = out["price_usd"].tolist()
    assert 75 < junk_x < 300 and junk_x > junk_proxy and word_x > 10 * junk_x


def test_the_x_market_has_held_out_metrics_in_manifest_and_card(ledger_model):
    manifest = ledger_model.manifest
    rows_test = manifest["training_data"]["x_ledger"]["rows_test"]
    assert 30 <= rows_test <= 60  # the newest 15% of 300 dated sales
    for model in ("model", "baseline_market_median", "baseline_length_pattern"):
        assert manifest["metrics"][model]["x_ledger"]["n"] == rows_test
    ledger = made_up_x_ledger()
    newest = pd.to_datetime(ledger["sold_at"]) >= pd.Timestamp(manifest["split"]["test_from"]["x_ledger"])
    assert newest.sum() == rows_test  # held out by time, like every market
    test = ledger_model.test_predictions
    assert set(test.loc[test["source"] == "x_ledger", "platform"]) == {"x"}
    card = (ledger_model.bundle_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| model | x_ledger |" in card
    assert "X is its own market" in card and "`x`: 300 sales" in card
    assert "the X price is a proxy from another market" not in card
    assert "your own sales ledger" in card


def test_published_rare_handle_pricing_is_off_once_x_has_its_own_sales(ledger_valuer):
    out = ledger_valuer.value_many(["google", "okay", "xyz"], platform="x")
    assert not out["market_basis"].str.contains("rare-handle").any(), out["market_basis"].tolist()
    assert not out["reasons"].str.contains("rare handle").any()


def test_the_bundle_reads_its_ledger_again_and_says_when_it_is_gone(ledger_model):
    from handleval.errors import DataFormatError
    from handleval.price.predict import load, sales_history
    from handleval.tracking import price_review

    history = sales_history(ledger_model.manifest)
    assert (history["source"] == "x_ledger").sum() == 300
    assert "x_ledger: " in price_review(ledger_model).training_data
    path = ledger_model.bundle_dir.parent / "x_ledger.csv"
    moved = path.with_suffix(".moved")
    path.rename(moved)
    try:
        with pytest.raises(DataFormatError, match="sales file missing"):
            load(ledger_model.bundle_dir)
    finally:
        moved.rename(path)


def test_a_ledger_edited_after_training_is_said_at_load(ledger_model):
    """Editing the ledger moved prices without a word: its sha256 was recorded at training but not checked at load.
    Now the library warns (HandlevalWarning) and the commands print one plain line; an unedited ledger is silent."""
    import warnings

    from handleval.errors import HandlevalWarning
    from handleval.price.predict import load
    from tests._helpers import run_cli

    path = ledger_model.bundle_dir.parent / "x_ledger.csv"
    from handleval.price.predict import sales_history

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load(ledger_model.bundle_dir)
        load(ledger_model.bundle_dir, history=sales_history(ledger_model.manifest))  # as MLflow serves it: no files
    assert not [w for w in seen if issubclass(w.category, HandlevalWarning)], [str(w.message) for w in seen]
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"coffee,99999,USD,2025-06-01\n")
        with pytest.warns(HandlevalWarning, match=r"have changed since \(by the manifest's sha256: .*x_ledger\.csv\)"):
            load(ledger_model.bundle_dir)
        shown = run_cli("value", "--model", str(ledger_model.bundle_dir), "coffee")
        assert shown.returncode == 0, shown.stderr
        assert "warning: " in shown.stderr and "x_ledger.csv" in shown.stderr, shown.stderr
        assert "HandlevalWarning" not in shown.stderr and "warnings.warn" not in shown.stderr, shown.stderr
        # the engine's own entry point had silenced it (it ignored every HandlevalWarning the run did not collect)
        source = ledger_model.bundle_dir.parent / "to_score.csv"
        source.write_text("handle\ncoffee\n")
        engine = subprocess.run(
            [sys.executable, "-m", "handleval.batch", str(source), str(source.with_suffix(".out.csv")), "--quiet",
             "--scorer", "handleval.price.predict:batch_scorer", "--scorer-kwargs",
             json.dumps({"bundle_dir": str(ledger_model.bundle_dir)})], capture_output=True, text=True, timeout=300)
        assert engine.returncode == 0, engine.stderr
        assert engine.stderr.count("have changed since") == 1 and "x_ledger.csv" in engine.stderr, engine.stderr
    finally:
        path.write_bytes(original)


def test_a_ledger_alone_trains_a_bundle(tmp_path):
    """`sources: []` with a ledger, as the config's validator and docs/ledger.md allow: it crashed loading (pd.concat
    of nothing), then training (prices typed as objects)."""
    from handleval.price.predict import load
    from handleval.price.train import train_price

    made_up_x_ledger().to_csv(tmp_path / "x_ledger.csv", index=False)
    base = small_price_config()
    cfg = small_price_config(sources=[], source_weights={}, max_rows_per_source=None, max_rounds=100,
                             params={**base.params, "num_threads": 1},
                             extra_sources=[ExtraSource(path=str(tmp_path / "x_ledger.csv"), platform="x")])
    result = train_price(cfg, tmp_path / "price", quiet=True)
    assert set(result.metrics["model"]) == {"x_ledger", "all"}
    assert load(result.bundle_dir).value("coffee").market_basis.startswith("X sales (n=300)")


def test_a_sales_file_gone_since_training_is_counted():
    """An edited file is a file of another sha256; a file deleted from a source's folder was not reported at all."""
    from handleval.price.predict import changed_since_training

    manifest = {"training_data": {"fragment_telegram": {"files": [{"sha256": "a"}, {"sha256": "b"}]}}}
    assert changed_since_training(manifest, [("f1.csv", "a"), ("f2.csv", "b")]) == []
    assert changed_since_training(manifest, [("f1.csv", "a"), ("f2.csv", "c")]) == ["f2.csv"]
    assert changed_since_training(manifest, [("f1.csv", "a")]) == ["1 file(s) no longer there"]
    assert changed_since_training({}, [("f1.csv", "a")]) == []  # a bundle that recorded no files: nothing to say
    assert changed_since_training(manifest, [("f1.csv", "a"), ("moved.csv", None)]) == []  # loading says it

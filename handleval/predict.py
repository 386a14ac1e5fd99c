"""Value handles with a trained price bundle: ``handleval.load().value("pizza", platform="x")``.

Prediction rebuilds the featurizer from the manifest (the lexicons must match the fingerprints recorded at
training time) and uses the sales in the data directory as the comparables history, strictly before each
row's ``as_of``. Rows whose handle is invalid come back with ``error`` set and no price; no row is dropped or
reordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from handleval.config import MODELS_DIR, MarketsConfig
from handleval.errors import DataFormatError, InvalidHandle
from handleval.handles import parse_handle

OUTPUT_COLUMNS = ["price_usd", "price_low_usd", "price_high_usd", "market_basis", "reasons", "error"]
PLATFORM_NAMES = {"x": "X", "telegram": "Telegram", "instagram": "Instagram", "domain": "domain",
                  "email": "e-mail"}


@dataclass(frozen=True)
class Valuation:
    """One handle's price with its 10–90% interval, the market it was priced in, and why."""

    handle: str
    platform: str
    price_usd: float | None
    price_low_usd: float | None
    price_high_usd: float | None
    market_basis: str
    reasons: list[str] = field(default_factory=list)
    error: str | None = None


def _money(value: float) -> str:
    sign = "+" if value >= 0 else "−"
    return f"{sign}${abs(value):,.0f}"


class Valuer:
    """A loaded price bundle. Build it with :func:`load`."""

    def __init__(self, bundle_dir: Path, manifest: dict[str, Any], points: list[Any], low: Any, high: Any,
                 featurizer: Any, market: Any, markets: MarketsConfig):
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.points, self.low, self.high = points, low, high
        self.featurizer = featurizer
        self.market = market
        self.markets = markets
        self.features: list[str] = manifest["features"]
        self.cap = float(np.log(manifest["cap_usd"]))
        self.offsets: dict[str, float] = manifest["conformal_offsets_ln"]
        self.trained_platforms = set(self.offsets)

    # ----------------------------------------------------------------------------------------------- public
    def value(self, handle: str, platform: str = "x", suffix: str | None = None, venue: str | None = None,
              as_of: object = None) -> Valuation:
        """Price one handle. An invalid handle gives a Valuation with ``error`` set, not an exception."""
        row = self.value_many(pd.DataFrame({"handle": [handle], "platform": [platform], "suffix": [suffix],
                                            "venue": [venue], "as_of": [as_of]})).iloc[0]
        price = lambda c: None if pd.isna(row[c]) else float(row[c])  # noqa: E731
        error = None if pd.isna(row["error"]) else str(row["error"])
        return Valuation(str(handle), platform, price("price_usd"), price("price_low_usd"),
                         price("price_high_usd"), row["market_basis"],
                         [r for r in str(row["reasons"]).split("; ") if r], error)

    def value_many(self, data: pd.DataFrame | list[str] | pd.Series, platform: str = "x",
                   reasons: bool = True) -> pd.DataFrame:
        """Every input column, then ``price_usd, price_low_usd, price_high_usd, market_basis, reasons, error``
        — same rows, same order. ``reasons=False`` leaves ``reasons`` empty and skips the exact per-row
        contributions (TreeSHAP), which cost far more than the price itself (see the README's benchmarks)."""
        frame = self._as_frame(data)
        n = len(frame)
        out = {c: np.full(n, np.nan) for c in OUTPUT_COLUMNS[:3]}
        basis = np.full(n, "", dtype=object)
        reason_text = np.full(n, "", dtype=object)
        errors = np.full(n, None, dtype=object)

        rows = self._parse(frame, platform)
        ok = np.array([r is not None and not isinstance(r, str) for r in rows], dtype=bool)
        for i in np.flatnonzero(~ok):
            errors[i] = rows[i]
        if (~ok).any():
            self._flag_lookalikes(frame, np.flatnonzero(~ok), errors)
        if ok.any():
            valid = [rows[i] for i in np.flatnonzero(ok)]
            market_frame = pd.DataFrame(valid, columns=["handle", "platform", "suffix", "venue", "as_of", "basis"])
            x_h, feat_errors = self.featurizer.transform_with_errors(market_frame)
            x = pd.concat([x_h.reset_index(drop=True), self.market.transform(market_frame).reset_index(drop=True)],
                          axis=1)[self.features]
            pred = np.minimum(np.mean([m.predict(x) for m in self.points], axis=0), self.cap)
            off = market_frame["platform"].map(self.offsets).fillna(max(self.offsets.values())).to_numpy()
            low = np.minimum(self.low.predict(x), pred) - off
            high = np.minimum(np.maximum(self.high.predict(x), pred) + off, self.cap)
            # Contributions are additive, so those of the averaged model are the average of the models'.
            contrib = np.mean([m.predict(x, pred_contrib=True) for m in self.points], axis=0) if reasons else None
            idx = np.flatnonzero(ok)
            out["price_usd"][idx] = np.round(np.exp(pred), 2)
            out["price_low_usd"][idx] = np.round(np.exp(low), 2)
            out["price_high_usd"][idx] = np.round(np.exp(high), 2)
            basis[idx] = market_frame["basis"].to_numpy()
            if contrib is not None:
                reason_text[idx] = self._reasons(market_frame, x, contrib, np.exp(pred))
            feat_err = feat_errors.reset_index(drop=True)
            for j in np.flatnonzero(feat_err.notna().to_numpy()):
                errors[idx[j]] = str(feat_err.iloc[j])
                for c in OUTPUT_COLUMNS[:3]:
                    out[c][idx[j]] = np.nan
        result = frame.copy()
        for c in OUTPUT_COLUMNS[:3]:
            result[c] = out[c]
        result["market_basis"] = basis
        result["reasons"] = reason_text
        result["error"] = pd.Series(errors, index=result.index, dtype=object)
        return result

    # ---------------------------------------------------------------------------------------------- helpers
    def _flag_lookalikes(self, frame: pd.DataFrame, rows: np.ndarray, errors: np.ndarray) -> None:
        """A handle rejected for a confusable character (Cyrillic 'а' in 'pаypal') says what it imitates."""
        raw = frame["handle"].iloc[rows]
        text = raw.where(raw.map(lambda v: isinstance(v, str)), "")
        suspects = text.map(lambda v: any(ord(c) > 127 for c in v)).to_numpy()
        if not suspects.any():
            return
        found = self.featurizer.matches(pd.DataFrame({"handle": text[suspects].tolist()}))
        for pos, (_, match) in zip(rows[suspects], found.iterrows(), strict=True):
            for family in ("brand", "celeb"):
                if bool(match[f"{family}_homoglyph"]) and isinstance(match[f"{family}_key"], str):
                    errors[pos] = f"{errors[pos]}; lookalike of '{match[f'{family}_key']}' (confusable characters)"
                    break

    @staticmethod
    def _as_frame(data: pd.DataFrame | list[str] | pd.Series) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            if "handle" not in data.columns:
                raise DataFormatError(f"input has no 'handle' column; found {list(data.columns)}")
            return data.reset_index(drop=True)
        if isinstance(data, str):
            data = [data]
        return pd.DataFrame({"handle": list(data)})

    def _market_for(self, platform: str) -> tuple[str, str]:
        """The market whose sales price this platform, and the sentence that says so."""
        if platform in self.trained_platforms:
            return platform, f"{PLATFORM_NAMES.get(platform, platform)} sales"
        proxy = self.markets.proxy_market.get(platform)
        if proxy in self.trained_platforms:
            return proxy, (f"proxy: {PLATFORM_NAMES.get(proxy, proxy)} sales ({PLATFORM_NAMES.get(platform)} has "
                           "no public sales)")
        raise InvalidHandle(platform, f"no market for platform {platform!r}: the bundle was trained on "
                                      f"{', '.join(sorted(self.trained_platforms))}")

    def _parse(self, frame: pd.DataFrame, default_platform: str) -> list[Any]:
        """Per row: a tuple for the featurizer, or a string saying why the row cannot be priced."""
        def column(name: str) -> list[Any]:
            return frame[name].tolist() if name in frame.columns else [None] * len(frame)

        now = pd.Timestamp.now("UTC").tz_localize(None)
        rows: list[Any] = []
        for raw, plat, suffix, venue, as_of in zip(column("handle"), column("platform"), column("suffix"),
                                                   column("venue"), column("as_of"), strict=True):
            try:
                plat = default_platform if plat is None or plat != plat or str(plat).strip() == "" else str(plat)
                plat = plat.strip().lower()
                handle = parse_handle(raw, plat)
                market, basis = self._market_for(plat)
                if as_of is None or as_of != as_of or str(as_of).strip() == "":
                    when = now
                else:
                    when = pd.Timestamp(as_of)
                    when = when.tz_convert(None) if when.tzinfo else when
                sfx = handle.suffix or (str(suffix).strip().lower() if suffix is not None and suffix == suffix
                                        else "")
                rows.append((handle.name, market, sfx, "" if venue is None or venue != venue else str(venue),
                             when, basis))
            except InvalidHandle as exc:
                rows.append(exc.reason)
            except (ValueError, TypeError, OverflowError):
                rows.append(f"as_of {as_of!r} is not a date")
        return rows

    def _reasons(self, frame: pd.DataFrame, x: pd.DataFrame, contrib: np.ndarray, price: np.ndarray) -> list[str]:
        """The three largest contributions per row, in words and dollars."""
        from handleval.features.describe import describe_feature

        # Market features set the baseline the name is priced against (market_basis says which); the reasons
        # are about the name, so they are ranked without them.
        values = contrib[:, :-1].copy()
        market_cols = [j for j, name in enumerate(self.features) if name.startswith("mkt__")]
        values[:, market_cols] = 0.0
        order = np.argsort(-np.abs(values), axis=1)[:, :3]
        texts = []
        for r in range(len(frame)):
            parts = []
            for j in order[r]:
                c = values[r, j]
                if abs(c) < 1e-6:
                    continue
                name = self.features[j]
                dollars = price[r] - price[r] * np.exp(-c)  # what this feature adds to the price
                label = describe_feature(name, x.iat[r, j], frame["handle"].iat[r])
                parts.append(f"{label} ({_money(dollars)})")
            texts.append("; ".join(parts))
        return texts


def load(bundle_dir: str | Path | None = None) -> Valuer:
    """Load and verify a price bundle (default ``models/price``), rebuilding its featurizer on this data."""
    from handleval.bundle import load_booster, read_manifest
    from handleval.data import load_sales
    from handleval.features import HandleFeaturizer
    from handleval.market import MarketEncoder

    bundle_dir = Path(bundle_dir) if bundle_dir else MODELS_DIR / "price"
    manifest = read_manifest(bundle_dir, "price")
    markets = MarketsConfig.model_validate(manifest["markets"])
    params = {k: v for k, v in manifest["featurizer"].items() if k != "lexicons"}
    featurizer = HandleFeaturizer(**params)
    history, _ = load_sales(manifest["config"]["sources"], markets=markets)
    featurizer.fit(history)
    featurizer.check_lexicons(manifest["featurizer"]["lexicons"])
    market = MarketEncoder(min_count=manifest["market_encoder"]["min_count"])
    market.categories_ = manifest["market_encoder"]["categories"]
    market.default_venue_ = manifest["market_encoder"]["default_venue"]
    market.rare_ = manifest["market_encoder"]["rare"]
    points = [load_booster(bundle_dir / f) for f in manifest.get("point_models", ["model.txt"])]
    low, high = (load_booster(bundle_dir / f) for f in ("quantile_low.txt", "quantile_high.txt"))
    return Valuer(bundle_dir, manifest, points, low, high, featurizer=featurizer, market=market, markets=markets)


def batch_scorer(bundle_dir: str | None = None, platform: str = "x", reasons: bool = True) -> Any:
    """A chunk scorer for :func:`handleval.batch.run_batch` (built once per process or Dask worker)."""
    valuer = load(bundle_dir)
    return lambda frame: valuer.value_many(frame, platform=platform, reasons=reasons)

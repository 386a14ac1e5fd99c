"""Where things live (data, configs, bundles) and the YAML configs, validated by pydantic.

The data directory is ``HANDLEVAL_DATA`` if set, else ``../shared/data`` beside the checkout (or beside the
working directory). Configs and model bundles default to ``configs/`` and ``models/`` in the checkout, or to the
copies a regular install ships (:func:`shipped`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handleval.errors import ConfigError, DataDirNotFound

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _checkout() -> Path | None:
    """The source tree this package runs from (a clone, or an editable install of one), if any."""
    return PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").is_file() else None


def installed_copy(name: str) -> Path | None:
    """``<prefix>/share/handleval/<name>`` as listed in the RECORD of the installed distribution that owns this
    very package (not whichever prefix the interpreter prefers), or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution("handleval")
        files = list(dist.files or ())
    except metadata.PackageNotFoundError:
        return None
    owns = any(f.parts == ("handleval", "__init__.py") and Path(str(f.locate())).resolve() == Path(__file__)
               .resolve().parent / "__init__.py" for f in files)
    if not owns:
        return None
    for f in files:
        parts = f.parts
        for i in range(len(parts) - 3):
            if parts[i:i + 3] == ("share", "handleval", name):
                return Path(str(f.locate())).resolve().parents[len(parts) - i - 4]
    return None


def shipped(name: str) -> Path:
    """``configs`` or ``models`` as shipped: the checkout's folder (a clone or an editable install), else the copy a
    regular ``pip install`` puts under ``<prefix>/share/handleval/`` (``data-files`` in pyproject.toml). When
    neither exists, the checkout path, so that the error names where the folder was expected."""
    checkout = _checkout()
    if checkout is not None and (checkout / name).is_dir():
        return checkout / name
    return installed_copy(name) or PROJECT_ROOT / name


CONFIGS_DIR = Path(os.environ.get("HANDLEVAL_CONFIGS") or shipped("configs"))
MODELS_DIR = Path(os.environ.get("HANDLEVAL_MODELS") or shipped("models"))


def training_output(kind: str) -> Path:
    """Where ``handleval train <kind>`` writes when not told: ``MODELS_DIR/<kind>``, except into the copy a pip
    install manages (an upgrade would replace the model, an uninstall delete it, a system prefix refuse it)."""
    if installed_copy("models") == MODELS_DIR:
        raise ConfigError(f"{MODELS_DIR} holds the bundles shipped with the installed package; train into a folder "
                          "of your own with --output, or set HANDLEVAL_MODELS to one (predict and flag read it too)")
    return MODELS_DIR / kind


def cache_dir() -> Path:
    """Where built lexicons, word models and compiled kernels are cached: ``$HANDLEVAL_CACHE``, else
    ``~/.cache/handleval``."""
    return Path(os.environ.get("HANDLEVAL_CACHE") or Path.home() / ".cache" / "handleval")


#: The folders of a data directory: one of them makes a folder one (an empty folder, or a wrong one, gave a
#: warning that the sales had changed, then a missing reference file).
DATA_PARTS = ("sales", "reference", "accounts")
#: How to fix a data directory that is missing or lacks a part.
_SET_DATA = ("Set HANDLEVAL_DATA to the folder that holds sales/, reference/ and accounts/, e.g. "
             "`export HANDLEVAL_DATA=/path/to/shared/data`.")


def data_dir(required: bool = True) -> Path:
    """The data directory; raise ``DataDirNotFound`` with how to fix it when it is missing or holds none of
    :data:`DATA_PARTS`."""
    env = os.environ.get("HANDLEVAL_DATA")
    beside = [PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    candidates = [Path(env)] if env else beside
    for path in candidates:
        if path.is_dir() and any((path / part).is_dir() for part in DATA_PARTS):
            return path.resolve()
    if not required:
        return candidates[0]
    where = f"HANDLEVAL_DATA={env}" if env else " or ".join(str(p) for p in candidates)
    found = "holds none of sales/, reference/, accounts/" if env and Path(env).is_dir() else "not found"
    raise DataDirNotFound(f"data directory {found} ({where}). {_SET_DATA}")


def require_data_parts(*parts: str, root: str | Path | None = None) -> Path:
    """``root`` (default :func:`data_dir`) when it holds each of ``parts`` (``sales``, ``reference``), else the one
    "set HANDLEVAL_DATA" message naming what is missing (a folder of accounts/ only gave a warning that the sales had
    changed, then a missing reference file)."""
    folder = Path(root) if root is not None else data_dir()
    missing = [f"{part}/" for part in parts if not (folder / part).is_dir()]
    if missing:
        raise DataDirNotFound(f"the data directory {folder} holds no {' or '.join(missing)}. {_SET_DATA}")
    return folder


T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a config must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Target(StrictModel):
    """A bar on one metric, with a lower bound, an upper bound or both: for the price model a market's metric
    (``fragment_telegram.rmse_vs_median``), ``mean_rmse_ln`` or a premium-name check (``tiers.spearman``); for the
    account model a summary (``lodo_min_auc``) or a held-out unit's AUC (``cresci2017.auc``), unit names as the config
    writes them. The config's ``targets`` gate the champion; its ``goals`` are reported only."""

    metric: str
    min: float | None = None
    max: float | None = None
    note: str = ""

    @model_validator(mode="after")
    def _a_bound(self) -> Target:
        if self.min is None and self.max is None:
            raise ValueError(f"target {self.metric!r} needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"target {self.metric!r}: min {self.min:g} is above max {self.max:g}")
        return self

    def met(self, value: float | None) -> bool:
        if value is None or value != value:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def bound(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} – {self.max:g}"
        return f"≥ {self.min:g}" if self.min is not None else f"≤ {self.max:g}"

    def verdict(self, value: float | None, word: str = "target") -> str:
        """``metric: value (word bound) met`` or ``MISSED``: one line of a card or the training output."""
        shown = "n/a" if value is None or value != value else f"{value:,.3f}"
        return f"{self.metric}: {shown} ({word} {self.bound()}) {'met' if self.met(value) else 'MISSED'}"


class Promotion(StrictModel):
    """What "better than the champion by more than noise" means: better on the primary metric in at least
    ``confidence`` of ``bootstrap_rounds`` paired resamples of the same test rows and by more than ``margin`` (the
    resamples see the rows' noise, not another seed's); when the two models were not tested on the same rows (new
    data), better by more than ``margin`` on the logged metric."""

    margin: float = Field(0.01, ge=0)
    bootstrap_rounds: int = Field(2000, ge=100, le=100_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)


class CurrencyRate(StrictModel):
    usd_per_unit: float = Field(gt=0, allow_inf_nan=False)
    as_of: str
    note: str = ""


class MarketSource(StrictModel):
    """One sales set under ``sales/``: which platform it is a market for and its currency."""

    platform: str
    currency: str
    venue: str | None = None


class ExtraSource(StrictModel):
    """A sales ledger of your own (CSV or Parquet) with ``handle, price, currency, sold_at`` and optional
    ``platform, suffix, venue`` columns; ``platform``, ``currency`` and ``venue`` here fill a column that is absent
    or blank. ``name`` labels it in the load report and metrics (default: the file's stem)."""

    path: str
    platform: str | None = None
    currency: str | None = None
    venue: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """The source's name in the sales table, load report, metrics and manifest."""
        import re

        return self.name or re.sub(r"[^a-z0-9]+", "_", Path(self.path).stem.lower()).strip("_") or "ledger"


class Floor(StrictModel):
    """A venue's minimum price for names of some lengths: market mechanics, not a name's value.

    ``sets_price``: the minimum decides what such names sell for (Fragment's 4-character minimum), so the price
    model does not learn from these sales and the market prices such names at no less than the minimum.
    ``lower_bound``: sales at the minimum (within 5%) say the name is worth at least that; the price config's
    ``floor_sales`` says whether the model learns from them. Either way a floor stays in its own market: platforms
    priced by proxy (X) never get it."""

    platform: str
    currency: str
    min_price: float = Field(gt=0)
    min_length: int = Field(1, ge=1)
    max_length: int = Field(64, ge=1)
    rule: Literal["sets_price", "lower_bound"]
    note: str = ""

    def applies(self, platform: pd.Series, length: pd.Series) -> np.ndarray:
        return ((platform == self.platform) & length.between(self.min_length, self.max_length)).to_numpy()

    @property
    def lengths(self) -> str:
        """The name lengths it holds for, as a reason says them: "up to 4", "4", "5-64"."""
        if self.min_length <= 1:
            return f"up to {self.max_length}"
        return str(self.min_length) if self.min_length == self.max_length else f"{self.min_length}-{self.max_length}"


class PricePoint(StrictModel):
    """A public price point: the amount and where it was reported."""

    usd: float = Field(gt=0)
    source: str


class RareHandlePricing(StrictModel):
    """A platform's own published pricing of rare handles, as a formula over the three factors it names
    (cultural significance, word popularity, length), never a price list:

    ``rare price = from × (top / from) ** score``, ``score`` the stronger of
    fame (exact famous name, popularity from ``fame_from`` on, scaled to 0..1) and of
    ``word_weight`` × word popularity (a single dictionary word, not a number; Zipf scaled from ``word_zipf``) and
    ``short_letters[n]`` for a handle of ``n`` characters, letters only or digits only, combined as
    ``1 - (1 - word) * (1 - length)`` (a short word is rare for both). A name with none of them
    is not rare and keeps its learned price; a rare name is priced at the larger of the two. A function word
    (``which``, ``their``: grammar, not meaning) counts as no more frequent than ``function_word_zipf``. A place of
    two or more words written run-together (``losangeles``: a US state, or a city or country of at least
    ``place_min_population`` people) is a word as frequent as its name written as a phrase."""

    rare_from: PricePoint
    top: PricePoint
    fame_from: float = Field(0.5, gt=0, lt=1)
    word_zipf: tuple[float, float] = (3.0, 6.0)
    word_weight: float = Field(0.8, ge=0, le=1)
    function_word_zipf: float = Field(4.0, ge=0)
    short_letters: dict[int, float] = Field(default_factory=dict)
    place_min_population: int = Field(300_000, ge=0)

    @model_validator(mode="after")
    def _word_range(self) -> RareHandlePricing:
        low, high = self.word_zipf
        if not 0 <= low < high:
            raise ValueError(f"word_zipf {list(self.word_zipf)}: the Zipf frequency where a word starts to count, "
                             "then where it counts in full, the first below the second")
        return self


class OwnSaleRule(StrictModel):
    """A name's own last sale anchors its price: ``price = w × last sale + (1 - w) × learned price``, in dollars,
    with ``w = 0.5 ** (age / half_life_years)``; an undated sale counts as ``undated_age_years`` old."""

    half_life_years: float = Field(3.0, gt=0)
    undated_age_years: float = Field(3.0, ge=0)


class MarketsConfig(StrictModel):
    rates: dict[str, CurrencyRate]
    sources: dict[str, MarketSource]
    proxy_market: dict[str, str] = Field(default_factory=lambda: {"x": "telegram", "instagram": "telegram"})
    floors: list[Floor] = Field(default_factory=list)
    rare_handles: dict[str, RareHandlePricing] = Field(
        default_factory=dict, description="platform -> its published rare-handle pricing (a calibration)")
    own_sale: OwnSaleRule = Field(default_factory=OwnSaleRule)

    @model_validator(mode="after")
    def _consistent(self) -> MarketsConfig:
        """Names that must agree across the file: a source's platform is one handleval prices, and its currency
        has a rate (rates are keyed by the code in capitals, as currencies are looked up)."""
        from handleval.handles import PLATFORMS

        lower = [c for c in self.rates if c != c.upper()]
        if lower:
            raise ValueError(f"rates: write currency codes in capitals ({', '.join(lower)})")
        for name, source in self.sources.items():
            if source.platform not in PLATFORMS:
                raise ValueError(f"sources.{name}: platform {source.platform!r} is not one of {', '.join(PLATFORMS)}")
            if source.currency.upper() not in self.rates:
                raise ValueError(f"sources.{name}: no rate for its currency {source.currency!r} under rates")
        return self

    def usd_rate(self, currency: str) -> float:
        try:
            return self.rates[currency.upper()].usd_per_unit
        except KeyError as exc:
            raise ConfigError(f"no USD rate for currency {currency!r} in markets config") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (it kept the last one without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: list[Any] = []
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`: its keys may be given again
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.append(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, empty_ok: bool = False) -> dict[str, Any]:
    """Read a YAML mapping with a clear error for missing or malformed files (with ``empty_ok``, a file of nothing
    or comments only is an empty mapping)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; a config is a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # safe: plain data only
    except yaml.YAMLError as exc:  # one line (a terminal shows a line break in a message as '?'), no '^' pointers
        said = [line.strip() for line in str(exc).splitlines() if line.strip(" ^")]
        raise ConfigError(f"{path} is not valid YAML: {'; '.join(said)}") from exc
    if content is None and empty_ok:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return content


def load_model_config(cls: type[T], path: str | Path, shipped: str | Path | None = None) -> T:
    """Validate a YAML file against a pydantic model, turning validation errors into one readable message.

    With ``shipped`` (the project's own config of that model), each top-level key of the file replaces the shipped
    one and a key the file leaves out is the shipped one's: a file of ``seed: 7`` alone trains the shipped model
    with another seed, not a model of the code's bare defaults (no constraints, no targets)."""
    layered = shipped is not None and Path(shipped).is_file() and Path(path).resolve() != Path(shipped).resolve()
    mine = read_yaml(path, empty_ok=layered)  # an empty file of your own: the shipped config
    content = {**read_yaml(shipped), **mine} if layered else mine
    try:
        return cls.model_validate(content)
    except ValidationError as exc:
        # a whole-config rule has no field to name, and pydantic puts "Value error, " before its message
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) + ': ' if e['loc'] else ''}"
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        # a problem in (or across) keys the file leaves out: say where they come from
        inherited = layered and any(not e["loc"] or e["loc"][0] not in mine for e in exc.errors())
        raise ConfigError(f"{path}: {problems}" + (f" (the keys {path} leaves out are {shipped}'s)" if inherited
                                                   else "")) from exc


def load_markets(path: str | Path | None = None) -> MarketsConfig:
    shipped = CONFIGS_DIR / "markets.yaml"  # a file of your own changes the keys it names
    return load_model_config(MarketsConfig, path or shipped, shipped=shipped)

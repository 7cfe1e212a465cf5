"""Seeded random streams, one per purpose, independent of PYTHONHASHSEED and of each other.

Adding a caller does not shift any agent's draws: each purpose (``arrivals``,
``patience``, ``talk:2001`` …) has its own generator, seeded from the scenario seed
and the purpose's name through SHA-256.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Annotated, Literal

import msgspec


def stream(seed: int, purpose: str) -> random.Random:
    """The generator of ``purpose`` under ``seed``."""
    digest = hashlib.sha256(f"{seed}\x00{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


Positive = Annotated[float, msgspec.Meta(gt=0, le=1e9)]
NonNegative = Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class Fixed(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="fixed"):
    """Always ``value`` seconds."""

    value: NonNegative


class Exponential(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="exponential"):
    """Exponential with the given mean (seconds)."""

    mean: Positive


class Uniform(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="uniform"):
    """Uniform between ``low`` and ``high`` seconds."""

    low: NonNegative
    high: NonNegative


class LogNormal(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="lognormal"):
    """Log-normal with the given mean and standard deviation (seconds)."""

    mean: Positive
    sd: Positive


class Never(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="never"):
    """Infinite (a caller who never hangs up, an endpoint that never answers)."""


Distribution = Fixed | Exponential | Uniform | LogNormal | Never
Kind = Literal["fixed", "exponential", "uniform", "lognormal", "never"]


def sampler(dist: Distribution, rng: random.Random):  # type: ignore[no-untyped-def]
    """A zero-argument function drawing from ``dist`` with ``rng``."""
    match dist:
        case Fixed(value=value):
            return lambda: value
        case Exponential(mean=mean):
            rate = 1.0 / mean
            draw = rng.expovariate
            return lambda: draw(rate)
        case Uniform(low=low, high=high):
            draw = rng.uniform
            return lambda: draw(low, high)
        case LogNormal(mean=mean, sd=sd):
            sigma2 = math.log(1 + (sd / mean) ** 2)
            mu = math.log(mean) - sigma2 / 2
            draw = rng.lognormvariate
            sigma = math.sqrt(sigma2)
            return lambda: draw(mu, sigma)
        case Never():
            return lambda: math.inf
    raise TypeError(dist)

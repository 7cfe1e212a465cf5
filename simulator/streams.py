"""Seeded random streams, one per purpose, independent of PYTHONHASHSEED and of each other.

Adding a caller does not shift any agent's draws: each purpose (``arrivals:0``,
``patience``, ``talk_time:2001``, ``queue:support`` …) has its own generator, seeded
from the scenario seed and the purpose's name through SHA-256.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from typing import Annotated, Literal

import msgspec


def stream(seed: int, purpose: str) -> random.Random:
    """The generator of ``purpose`` under ``seed``."""
    digest = hashlib.sha256(f"{seed}\x00{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def index_draw(rng: random.Random) -> Callable[[int], int]:
    """A function drawing a uniform index below ``n`` from ``rng``.

    Built on ``random()``, the one method whose sequence Python promises to keep across
    versions (``choice`` and ``randrange`` have changed how they draw before).
    """
    draw = rng.random

    def index(n: int) -> int:
        return min(int(draw() * n), n - 1)

    return index


Positive = Annotated[float, msgspec.Meta(gt=0, le=1e9)]
NonNegative = Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class Fixed(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="fixed"):
    """Always ``value`` seconds."""

    value: NonNegative


class Exponential(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="exponential"):
    """Exponential with the given mean (seconds)."""

    mean: Positive


class Uniform(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="uniform"):
    """Uniform between ``low`` and ``high`` seconds (``low`` at most ``high``)."""

    low: NonNegative
    high: NonNegative

    def __post_init__(self) -> None:
        # msgspec reports a ValueError raised here with the path of this distribution (``$.agents[0].talk_time``).
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g})")


class LogNormal(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="lognormal"):
    """Log-normal with the given mean and standard deviation (seconds)."""

    mean: Positive
    sd: Positive


class Never(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="dist", tag="never"):
    """Infinite (a caller who never hangs up, an endpoint that never answers)."""


Distribution = Fixed | Exponential | Uniform | LogNormal | Never
Kind = Literal["fixed", "exponential", "uniform", "lognormal", "never"]


def sampler(dist: Distribution, rng: random.Random) -> Callable[[], float]:
    """A zero-argument function drawing from ``dist`` with ``rng``.

    Exponential and uniform draws are written out on ``random()``, as ``Random.expovariate`` and ``Random.uniform``
    compute them (the same numbers, one call less a draw; and ``random()`` is the one method whose sequence Python
    promises to keep across versions).
    """
    match dist:
        case Fixed(value=value):
            fixed = lambda: value  # noqa: E731
            fixed.constant = value  # type: ignore[attr-defined]
            return fixed
        case Exponential(mean=mean):
            rate = 1.0 / mean
            draw, log = rng.random, math.log
            exponential = lambda: -log(1.0 - draw()) / rate  # noqa: E731
            # Its parts, for a loop that writes the draw out (``fastpath.py``): the same numbers, one call less.
            exponential.parts = (draw, rate)  # type: ignore[attr-defined]
            return exponential
        case Uniform(low=low, high=high):
            draw = rng.random
            return lambda: low + (high - low) * draw()
        case LogNormal(mean=mean, sd=sd):
            sigma2 = math.log(1 + (sd / mean) ** 2)
            mu = math.log(mean) - sigma2 / 2
            lognormvariate = rng.lognormvariate
            sigma = math.sqrt(sigma2)
            return lambda: lognormvariate(mu, sigma)
        case Never():
            return lambda: math.inf
    raise TypeError(dist)

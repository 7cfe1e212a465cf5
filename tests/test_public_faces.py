"""Every package says what it offers in ``__all__``, and every name listed is there."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["core", "core.aggregates", "core.routing", "core.projections", "adapters", "simulator"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_a_package_lists_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, f"{package} lists no public names"
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []


def test_an_unknown_name_is_an_attribute_error() -> None:
    core = importlib.import_module("core")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        core.nothing  # noqa: B018

"""The collector settings a sync and a long-running server use, and that they are undone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.gc_tuning import GEN0_THRESHOLD, fewer_collections, tune_for_long_run


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)
    gc.unfreeze()


def test_fewer_collections_raises_the_threshold_and_restores_it(
    thresholds: tuple[int, int, int],
) -> None:
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_fewer_collections_restores_after_an_error(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("sync failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_fewer_collections_never_makes_collections_more_frequent(
    thresholds: tuple[int, int, int],
) -> None:
    gc.set_threshold(GEN0_THRESHOLD * 5, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == GEN0_THRESHOLD * 5


def test_tune_for_long_run_freezes_startup_objects(thresholds: tuple[int, int, int]) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    tune_for_long_run(gen0=12_345)
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold() == (12_345, *thresholds[1:])

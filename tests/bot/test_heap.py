"""The service freezes its start-up heap, so full collections skip it."""

from __future__ import annotations

import gc

from bot.heap import freeze_startup_heap


def test_freezing_moves_the_live_heap_out_of_collection():
    gc.unfreeze()
    kept = [[n] for n in range(1000)]  # long-lived objects, as a started service holds
    try:
        frozen = freeze_startup_heap()
        assert frozen >= len(kept)
        collected = {id(obj) for obj in gc.get_objects()}  # every generation, not the frozen
        assert not collected & {id(obj) for obj in kept}
    finally:
        gc.unfreeze()

"""The service's heap after start-up: frozen, so full garbage collections skip it.

``python -m bot run`` loads a large, long-lived heap (the Telegram and WeChat SDKs, the
web stack, templates, the FAQ index). CPython's full collections scan every tracked
object each time, and a dispatch pass of many follow-ups triggers several: frozen,
that heap costs them nothing (``gc.freeze``; a frozen object is never collected, so
only what lives as long as the process should be frozen).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then freeze what is left; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

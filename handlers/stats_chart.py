"""The ``/stats chart`` picture: four daily series drawn with matplotlib (Agg, no display).

Labels are in English and ASCII only: the default fonts have no Chinese glyphs.
Drawing blocks, so callers run :func:`render` in a thread.
"""

from __future__ import annotations

from pathlib import Path

from storage.statistics import DailySeries


def render(series: DailySeries, path: Path) -> Path:
    """Draw ``series`` as a PNG at ``path`` (parents created); returns ``path``."""
    # Imported here: matplotlib takes a second or more to load, and only /stats chart needs it.
    # A bare Figure draws with the Agg canvas: no display is ever touched.
    import numpy as np
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(10, 5), dpi=100)
    axes = figure.subplots()
    lines = {
        "messages": series.messages,
        "tickets": series.tickets,
        "orders": series.orders,
        "repurchases": series.repurchases,
    }
    days = np.array(series.days, dtype="datetime64[D]")
    for label, values in lines.items():
        axes.plot(days, values, marker="o", markersize=3, label=label)
    axes.set_title(f"Last {len(series.days)} days")
    axes.set_ylabel("per day")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.savefig(path, format="png")
    return path

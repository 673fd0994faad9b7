"""A one-line progress bar for long commands, on stderr."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``label [#####.....] 50/100``, redrawn in place when the percentage moves."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.stream = stream or sys.stderr
        self.done = 0
        self._shown = -1

    def advance(self, step: int = 1) -> None:
        """Count ``step`` more items done."""
        self.done = min(self.done + step, self.total)
        percent = self.done * 100 // self.total if self.total else 100
        if percent != self._shown:
            self._shown = percent
            filled = WIDTH * percent // 100
            bar = "#" * filled + "." * (WIDTH - filled)
            print(f"\r{self.label} [{bar}] {self.done}/{self.total}", end="", file=self.stream)
            self.stream.flush()

    def finish(self) -> None:
        """End the line."""
        print(file=self.stream, flush=True)

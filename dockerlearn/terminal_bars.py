"""Progress bars on stderr: redrawn in place on a terminal, a few plain lines otherwise."""
from __future__ import annotations

import sys
import time


class Bar:
    def __init__(self, label: str, total: int = 0, unit: str = "B", stream=None):
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.monotonic()
        self.last_pct = -1
        self._draw(force=True)

    def _fmt(self, n: float) -> str:
        if self.unit != "B":
            return f"{n:.0f}"
        for unit in ("B", "KB", "MB", "GB"):
            if n < 1024 or unit == "GB":
                return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
            n /= 1024
        return str(n)

    def _draw(self, force: bool = False, end: str = "") -> None:
        now = time.monotonic()
        pct = int(100 * self.done / self.total) if self.total else 0
        if not force and (now - self.last < 0.1 if self.tty else (pct // 25 == self.last_pct // 25)):
            return
        self.last, self.last_pct = now, pct
        if self.total:
            filled = pct * 24 // 100
            bar = "█" * filled + "░" * (24 - filled)
            text = f"{self.label} {bar} {pct:3d}% {self._fmt(self.done)}/{self._fmt(self.total)}"
        else:
            text = f"{self.label} … {self._fmt(self.done)}" if self.done else f"{self.label} …"
        elapsed = now - self.start
        if elapsed >= 1:
            text += f" {elapsed:.0f}s"
        if self.tty:
            self.stream.write("\r\033[K" + text + end)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, n: int) -> None:
        self.done += n
        self._draw()

    def note(self, text: str) -> None:
        self.label = text
        self._draw(force=True)

    def close(self, final: str = "") -> None:
        if final:
            self.label = final
        if self.total:
            self.done = self.total
        self._draw(force=True, end="\n" if self.tty else "")


def step(text: str, stream=None) -> None:
    """A one-line status message for quick steps."""
    stream = stream or sys.stderr
    stream.write(text + "\n")
    stream.flush()

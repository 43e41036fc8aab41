"""The progress line of a sweep on stderr: points done / total, failures, elapsed, ETA."""

import sys
import time


def duration(seconds):
    """``75.2`` -> ``"1m15s"``; ``3725`` -> ``"1h02m"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class SweepProgress:
    """Redraw one line on stderr as points finish.

    The ETA weighs the points by their estimated cost (``SweepPoint.cost``), so a sweep whose
    heavy points run first does not promise too early an end.

    Parameters
    ----------
    total : int
        Points in the grid.
    reused : int
        Points already in the results file.
    pending_cost : float
        Summed cost of the points to compute now.
    enabled : bool, optional
        Draw at all; by default only when the stream is a terminal.
    stream : file, optional
        stderr by default.
    """

    def __init__(self, total, reused, pending_cost, *, enabled=None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self.total = int(total)
        self.reused = int(reused)
        self.pending_cost = float(pending_cost)
        self.done_cost = 0.0
        self.done = 0
        self.failed = 0
        self.start = time.monotonic()
        self._width = 0
        self.draw()

    @property
    def elapsed(self):
        """Seconds since the start."""
        return time.monotonic() - self.start

    def eta(self):
        """Seconds left, or None before the first point is done."""
        if self.done_cost <= 0:
            return None
        return self.elapsed * max(self.pending_cost - self.done_cost, 0.0) / self.done_cost

    def line(self):
        """The text of the progress line."""
        done = self.reused + self.done
        text = f"sweep: {done}/{self.total} points"
        if self.reused:
            text += f" ({self.reused} already done)"
        if self.failed:
            text += f", {self.failed} failed"
        text += f", {duration(self.elapsed)}"
        eta = self.eta()
        if done < self.total:
            text += f", ETA {duration(eta)}" if eta is not None else ", ETA --"
        return text

    def draw(self):
        """Redraw the line (if enabled)."""
        if not self.enabled:
            return
        text = self.line()
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def update(self, cost, failed=False):
        """One more point done, of estimated ``cost``."""
        self.done += 1
        self.done_cost += cost
        self.failed += bool(failed)
        self.draw()

    def close(self):
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

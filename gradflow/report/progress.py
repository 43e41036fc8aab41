"""A progress bar on stderr for report work, shown only on a terminal."""

import sys
import time


class Progress:
    """Count finished tasks out of ``total`` and redraw one line on stderr.

    Silent when ``enabled`` is False (``--quiet``, or stderr is not a terminal).
    """

    def __init__(self, total, *, enabled=None, stream=None, width=30):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = max(int(total), 1)
        self.done = 0
        self.width = width
        self.start = time.monotonic()

    def step(self, label=""):
        """Mark one task done, with ``label`` naming the next one."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {elapsed:5.1f}s {label[:40]:<40}")
        self.stream.flush()

    def close(self):
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

"""The progress bar of long commands (``gradflow report``, ``gradflow sweep``): click's, on stderr.

Drawn only when stderr is a terminal (never into a pipe or a log), and not at all with
``--quiet``.  The bar counts steps of any size: the report counts its analyses, the sweep
the estimated cost of its points, so click's ETA weighs the points by their cost and holds
when the heavy points run first.  A note after the bar says what the steps are (the last
analysis done, the points done and failed).
"""

import sys

import click

#: Longest note shown after the bar (a longer one is cut, so the line never wraps).
NOTE_WIDTH = 60


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


class _Terminal:
    """A stream that says it is a terminal: ``enabled=True`` draws on any stream."""

    def __init__(self, stream):
        self._stream = stream

    def isatty(self):
        return True

    def write(self, text):
        return self._stream.write(text)

    def flush(self):
        self._stream.flush()


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _note(item):
    return None if not item else item[:NOTE_WIDTH]


class Progress:
    """A progress bar of ``length`` steps on stderr, built on ``click.progressbar``.

    Parameters
    ----------
    length : int
        Steps in all (tasks, or summed costs).
    label : str
        Text before the bar.
    note : str, optional
        Text after the bar until the first :meth:`advance` gives another.
    enabled : bool, optional
        Draw at all (False for ``--quiet``); by default only when ``stream`` is a terminal;
        True draws on any stream.
    stream : file, optional
        stderr by default.
    show_pos : bool
        Show ``done/length`` (off when the steps are costs rather than tasks).
    width : int
        Characters of the bar itself.
    """

    def __init__(self, length, *, label="", note=None, enabled=None, stream=None,
                 show_pos=True, width=30):
        stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(stream) if enabled is None else bool(enabled)
        self._bar = None
        if not self.enabled:
            return
        self._bar = click.progressbar(
            length=max(int(length), 1), label=label, show_pos=show_pos, show_eta=True,
            item_show_func=_note, width=width,
            file=stream if _is_terminal(stream) else _Terminal(stream))
        self._bar.current_item = note
        self._bar.render_progress()

    def advance(self, steps=1, note=None):
        """Count ``steps`` more done; ``note`` replaces the text after the bar."""
        if self._bar is not None:
            self._bar.update(int(steps), current_item=note)

    def close(self):
        """End the line (once; nothing when disabled)."""
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""The interruptions a command received, kept so that one Python drops is not lost.

A signal handler's exception is raised wherever the main thread happens to be; inside a
weakref callback or a ``__del__`` Python prints it ("Exception ignored in ...") and goes on,
and the command would finish as if never interrupted.  The command line's handlers record
each signal here before raising, so the last step of every output (the rename of its
temporary files into place, :mod:`gradflow.io.atomic`) refuses to commit after one, and the
command ends ``Error: interrupted`` all the same.  Library calls record nothing.
"""

_RECEIVED = []


def record(name):
    """Note that the signal ``name`` (``"SIGINT"``, ``"SIGTERM"``, ...) arrived."""
    _RECEIVED.append(name)


def received():
    """The first signal recorded since :func:`clear`, or None."""
    return _RECEIVED[0] if _RECEIVED else None


def clear():
    """Forget the recorded signals (a new command starts)."""
    _RECEIVED.clear()


def raise_if_received():
    """Raise KeyboardInterrupt if a signal was recorded (it may have been dropped)."""
    name = received()
    if name is not None:
        raise KeyboardInterrupt(name)

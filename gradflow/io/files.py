"""Opening input files safely: regular files only, never a hang, errors that name the file.

A FIFO would block ``open`` forever and ``/dev/zero`` would be read until memory runs out, so
every file gradflow reads is opened without blocking and checked to be a regular file before
a byte is read.  Text inputs (sweep specs, histories) are read with a size cap.
"""

import contextlib
import os
import stat

from ..errors import GradflowError

__all__ = ["displayable", "open_regular", "printable", "read_text", "require_regular"]

#: Largest text input (a sweep spec, a history) gradflow reads: 256 MiB.
TEXT_LIMIT = 256 * 2**20


def _describe(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _shown(path):
    return printable(os.fsdecode(path))


def printable(text):
    """``text`` with the bytes of a file name that are not UTF-8 shown as ``\\xe9`` escapes.

    Python hands such bytes over as lone surrogates (``os.fsdecode``), which would garble a
    terminal or fail to encode; any other lone surrogate is shown as ``\\udXXX``.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def open_regular(path, what="input"):
    """Open ``path`` for binary reading if it is a regular file; GradflowError otherwise.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file should be (``".npz"``, ``"history"``), for the message.

    Returns
    -------
    file object
        Opened ``"rb"``; the caller closes it.
    """
    shown = _shown(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise GradflowError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise GradflowError(f"{shown}: is a folder, not a {what} file") from None
    except PermissionError:
        raise GradflowError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise GradflowError(f"{shown}: cannot read ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _describe(mode)
            article = "" if kind.startswith(("a ", "not")) else "a "
            raise GradflowError(f"{shown}: is {article}{kind}, not a {what} file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def require_regular(path, what="input"):
    """Raise GradflowError unless ``path`` is a readable regular file (it is not read)."""
    with contextlib.closing(open_regular(path, what)):
        pass


def read_text(path, what, *, limit=TEXT_LIMIT):
    """The UTF-8 text of a regular file of at most ``limit`` bytes; GradflowError otherwise."""
    shown = _shown(path)
    with open_regular(path, what) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise GradflowError(f"{shown}: larger than {limit // 2**20} MiB; not a {what} file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GradflowError(f"{shown}: not UTF-8 text (byte {exc.start}); not a {what} file") \
            from None


def displayable(name):
    """``name`` with the bytes a file name may hold that are not UTF-8 shown as U+FFFD.

    Python keeps such bytes as lone surrogates (``\\udcff``), which fonts and encoders refuse.
    """
    return str(name).encode("utf-8", "surrogateescape").decode("utf-8", "replace")

"""Atomic output: write to a temporary file in the target's folder, then rename."""

import contextlib
import errno
import os
import tempfile

from ..errors import GradflowError


@contextlib.contextmanager
def atomic_path(path, *, suffix=""):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    A failure inside the block removes the temporary file and leaves ``path`` untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        shown = os.path.dirname(path) or "."
        raise GradflowError(f"{path}: cannot write: folder {shown} does not exist")
    if os.path.isdir(path):
        raise GradflowError(f"{path}: cannot write: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=suffix + ".tmp", dir=folder
        )
    except OSError as exc:
        raise GradflowError(f"{path}: cannot write: {exc.strerror}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        # mkstemp creates 0600; give the result the mode a plain open() would have
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _WRITE_FAILURES:
            raise GradflowError(f"{path}: cannot write: {os.strerror(exc.errno)}; nothing "
                                "was written") from None
        raise


#: Errors of the file system that a write meets (full disk, file too large, quota, read-only).
_WRITE_FAILURES = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}


def refuse_overwriting_inputs(output, inputs):
    """Raise GradflowError when ``output`` names the same file as one of ``inputs``."""
    out = os.path.realpath(os.fspath(output))
    for path in inputs:
        if path is not None and os.path.realpath(os.fspath(path)) == out:
            raise GradflowError(f"{output}: the output would overwrite the input {path}")

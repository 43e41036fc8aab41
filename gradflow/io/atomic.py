"""Atomic output: write to a temporary file in the target's folder, then rename."""

import contextlib
import errno
import os
import shutil
import tempfile

from .._signals import raise_if_received
from ..errors import GradflowError


@contextlib.contextmanager
def atomic_path(path, *, suffix=""):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    A failure inside the block removes the temporary file and leaves ``path`` untouched.
    """
    with atomic_paths([path], suffixes=[suffix]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths, *, suffixes=None):
    """Yield temporary paths next to each of ``paths``; rename them all into place, or none.

    The files are written to the temporary paths inside the block; on success they are
    renamed onto ``paths`` in order.  When a rename fails after earlier ones succeeded, those
    are undone: a target that existed gets its old file back (kept aside as a hard link while
    the commit runs), a new one is removed.  A failure inside the block removes every
    temporary file and touches no target.
    """
    paths = [os.fspath(p) for p in paths]
    suffixes = [""] * len(paths) if suffixes is None else list(suffixes)
    tmps = []
    try:
        for path, suffix in zip(paths, suffixes, strict=True):
            tmps.append(_temporary_for(path, suffix))
            _SHOWN[tmps[-1]] = _shown(path)
        yield list(tmps)
        _commit(paths, tmps)
    except BaseException as exc:
        for tmp in tmps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _WRITE_FAILURES:
            raise GradflowError(f"{_failed_target(exc, paths, tmps)}: cannot write: "
                                f"{os.strerror(exc.errno)}; nothing was written") from None
        raise
    finally:
        for tmp in tmps:
            _SHOWN.pop(tmp, None)


def save_npy(path, array):
    """Write ``array`` to ``path`` as .npy (no pickles), atomically."""
    import numpy as np

    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)


#: The output each live temporary file stands for, so that a file written to a temporary
#: path (as one of several outputs committed together) names its output when it fails.
_SHOWN = {}


def _shown(path):
    return _SHOWN.get(path, path)


def _failed_target(exc, paths, tmps):
    """The output whose write or rename raised ``exc``."""
    target = getattr(exc, "gradflow_target", None)
    if target is None and exc.filename in tmps:
        target = paths[tmps.index(exc.filename)]
    if target is None and len(paths) == 1:
        target = paths[0]
    return _shown(target) if target is not None else " or ".join(map(_shown, paths))


def _temporary_for(path, suffix):
    """A new empty temporary file in ``path``'s folder, named after it (mode 0600)."""
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
        raise GradflowError(f"{_shown(path)}: cannot write: {exc.strerror}") from None
    os.close(fd)
    return tmp


def _commit(paths, tmps):
    """Rename every ``tmps[i]`` onto ``paths[i]``; on a failure undo the renames done."""
    raise_if_received()  # an interruption Python dropped still stops the output here
    umask = os.umask(0)
    os.umask(umask)
    done = []  # (path, the old file kept aside, or None where there was none)
    try:
        for path, tmp in zip(paths, tmps, strict=True):
            # mkstemp creates 0600; give the result the mode a plain open() would have
            os.chmod(tmp, 0o666 & ~umask)
            old = _keep_aside(path) if len(paths) > 1 else None
            try:
                os.replace(tmp, path)
            except BaseException as exc:
                if old is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(old)
                if isinstance(exc, OSError):
                    exc.gradflow_target = path
                raise
            done.append((path, old))
    except BaseException:
        for path, old in reversed(done):
            with contextlib.suppress(OSError):
                if old is None:
                    os.unlink(path)
                else:
                    os.replace(old, path)
        raise
    for _, old in done:
        if old is not None:
            with contextlib.suppress(OSError):
                os.unlink(old)


def _keep_aside(path):
    """A second name for the file at ``path`` (None if there is none), to restore it from."""
    if not os.path.lexists(path):
        return None
    fd, aside = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".old",
                                 dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    os.unlink(aside)
    try:
        os.link(path, aside, follow_symlinks=False)
    except OSError:  # a file system without hard links: a copy serves
        shutil.copy2(path, aside, follow_symlinks=False)
    return aside


#: Errors of the file system that a write meets (full disk, file too large, quota, read-only).
_WRITE_FAILURES = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}


def refuse_overwriting_inputs(output, inputs):
    """Raise GradflowError when ``output`` names the same file as one of ``inputs``."""
    out = os.path.realpath(os.fspath(output))
    for path in inputs:
        if path is not None and os.path.realpath(os.fspath(path)) == out:
            raise GradflowError(f"{output}: the output would overwrite the input {path}")

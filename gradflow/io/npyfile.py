"""Reading .npy and .npz files defensively.

Every array's header (shape, dtype) is read and checked before its data: object arrays
(pickles) are refused without being unpickled, headers are bounded (numpy's 10 000-byte
limit), and a request whose declared sizes would not fit in memory (a hostile or corrupt
header, a zip bomb) is refused with the estimate before any allocation: for an archive the
whole request at once, after the caller has refused the keys it does not expect.  Only
regular files are opened (:mod:`gradflow.io.files`).
"""

import contextlib
import lzma
import math
import zipfile
import zlib

import numpy as np

from ..errors import GradflowError
from ..resources import require_memory
from .files import open_regular

__all__ = ["NpzArchive", "read_npy", "read_npz"]

_FORMAT = np.lib.format
#: Failures of a damaged stream, whichever compression the archive uses.
_STREAM_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
                  lzma.LZMAError, NotImplementedError, RuntimeError, KeyError, TypeError,
                  SyntaxError, OverflowError)


def _read_header(fp, where):
    """``(shape, dtype)`` from the header at ``fp``; GradflowError for anything unreadable."""
    try:
        version = _FORMAT.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = _FORMAT.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = _FORMAT.read_array_header_2_0(fp)
        else:
            raise GradflowError(f"{where}: .npy format version {version[0]}.{version[1]} is "
                                "not supported; expected 1.0 or 2.0")
    except GradflowError:
        raise
    except _STREAM_ERRORS as exc:
        raise GradflowError(f"{where}: not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise GradflowError(f"{where}: holds pickled Python objects, which gradflow never loads")
    if any(length < 0 for length in shape):
        raise GradflowError(f"{where}: not a valid .npy array (its header declares shape "
                            f"{tuple(shape)}, with a negative length)")
    if dtype.subdtype is not None:  # numpy folds the sub-array into the shape on reading
        raise GradflowError(f"{where}: dtype {dtype} is a sub-array dtype (each element an "
                            f"array of shape {dtype.shape}); expected plain numbers")
    return tuple(shape), dtype


def _nbytes(shape, dtype):
    return math.prod(shape) * dtype.itemsize


def _read_data(fp, where):
    try:
        return _FORMAT.read_array(fp, allow_pickle=False)
    except _STREAM_ERRORS as exc:
        raise GradflowError(f"{where}: not a valid .npy array ({exc})") from None


def read_npy(path):
    """Read one array from a .npy file; errors name the file."""
    where = str(path)
    with open_regular(path, ".npy") as fh:
        if zipfile.is_zipfile(fh):
            raise GradflowError(f"{where}: a .npz archive; expected a single .npy array")
        fh.seek(0)
        shape, dtype = _read_header(fh, where)
        require_memory(_nbytes(shape, dtype), f"{where} (shape {shape}, dtype {dtype})")
        fh.seek(0)
        return _read_data(fh, where)


class NpzArchive:
    """A .npz archive opened for reading: its keys and headers first, data on request.

    Use as a context manager.  ``keys`` lists the arrays; :meth:`header` reads one member's
    shape and dtype (a few hundred bytes); :meth:`read` checks the declared size of the
    members asked for against the memory cap, all together, then reads them.
    """

    def __init__(self, path):
        self.path = str(path)
        self._file = open_regular(path, ".npz")
        try:
            if self._file.read(1) == b"":
                raise GradflowError(f"{self.path}: empty file; expected a .npz archive")
            self._file.seek(0)
            try:
                self._zip = zipfile.ZipFile(self._file)
            except _STREAM_ERRORS as exc:
                raise GradflowError(f"{self.path}: not a valid .npz archive ({exc})") from None
            self._members = {}
            for info in self._zip.infolist():
                if info.is_dir() or not info.filename.endswith(".npy"):
                    raise GradflowError(f"{self.path}: unexpected member {info.filename!r}; a "
                                        ".npz holds only .npy arrays")
                key = info.filename[: -len(".npy")]
                if key in self._members:
                    raise GradflowError(f"{self.path}: key {key!r} appears twice")
                self._members[key] = info
        except BaseException:
            self._file.close()
            raise
        self._headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the archive and its file."""
        with contextlib.suppress(Exception):
            self._zip.close()
        self._file.close()

    @property
    def keys(self):
        """The array names, in archive order."""
        return tuple(self._members)

    def _open(self, key):
        try:
            return self._zip.open(self._members[key])
        except _STREAM_ERRORS as exc:
            raise GradflowError(f"{self.path}: {key}: unreadable ({exc})") from None

    def header(self, key):
        """``(shape, dtype)`` of array ``key``, read without its data."""
        if key not in self._headers:
            with self._open(key) as fp:
                self._headers[key] = _read_header(fp, f"{self.path}: {key}")
        return self._headers[key]

    def read(self, keys=None):
        """The arrays ``keys`` (all by default) as a dict, after one memory check for them all."""
        keys = self.keys if keys is None else tuple(keys)
        total = sum(_nbytes(*self.header(k)) for k in keys)
        largest = max(keys, key=lambda k: _nbytes(*self.header(k)), default=None)
        if largest is not None:
            shape, dtype = self.header(largest)
            require_memory(total, f"{self.path}: {len(keys)} arrays (the largest, {largest}, "
                                  f"has shape {shape}, dtype {dtype})")
        out = {}
        for key in keys:
            with self._open(key) as fp:
                out[key] = _read_data(fp, f"{self.path}: {key}")
        return out


def read_npz(path, keys=None):
    """Read the arrays of a .npz archive (``keys``, or all) into a dict; errors name the key."""
    with NpzArchive(path) as archive:
        return archive.read(keys)

"""Reading .npy and .npz files defensively.

Every array's header (shape, dtype) is read and checked before its data: object arrays
(pickles) are refused without being unpickled, and an array whose declared size would not fit
in memory (a hostile or corrupt header, a zip bomb) is refused with the estimate before any
allocation.
"""

import math
import zipfile

import numpy as np

from ..errors import GradflowError
from ..resources import require_memory

_FORMAT = np.lib.format


def _read_header(fp, where):
    try:
        version = _FORMAT.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = _FORMAT.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = _FORMAT.read_array_header_2_0(fp)
        else:
            shape, _, dtype = _FORMAT._read_array_header(fp, version)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise GradflowError(f"{where}: not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise GradflowError(f"{where}: holds pickled Python objects, which gradflow never loads")
    nbytes = math.prod(shape) * dtype.itemsize
    require_memory(nbytes, f"{where} (shape {tuple(shape)}, dtype {dtype})")
    return shape, dtype


def _read_array(open_stream, where):
    with open_stream() as fp:
        _read_header(fp, where)
    with open_stream() as fp:
        try:
            return _FORMAT.read_array(fp, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise GradflowError(f"{where}: not a valid .npy array ({exc})") from None


def _opened(path, kind):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise GradflowError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise GradflowError(f"{path}: is a folder, not a {kind} file") from None
    except PermissionError:
        raise GradflowError(f"{path}: permission denied") from None
    except OSError as exc:
        raise GradflowError(f"{path}: cannot read ({exc.strerror})") from None


def read_npy(path):
    """Read one array from a .npy file; errors name the file."""
    fh = _opened(path, ".npy")
    fh.close()
    if zipfile.is_zipfile(path):
        raise GradflowError(f"{path}: a .npz archive; expected a single .npy array")
    return _read_array(lambda: open(path, "rb"), str(path))


def read_npz(path):
    """Read every array of a .npz archive into a dict; errors name the file and the key."""
    fh = _opened(path, ".npz")
    with fh:
        if fh.read(1) == b"":
            raise GradflowError(f"{path}: empty file; expected a .npz archive")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise GradflowError(f"{path}: not a valid .npz archive ({exc})") from None
    arrays = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".npy"):
                raise GradflowError(
                    f"{path}: unexpected member {info.filename!r}; a .npz holds only .npy arrays"
                )
            key = info.filename[: -len(".npy")]
            if key in arrays:
                raise GradflowError(f"{path}: key {key!r} appears twice")
            where = f"{path}: {key}"
            try:
                arrays[key] = _read_array(lambda info=info: archive.open(info), where)
            except GradflowError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
                raise GradflowError(f"{where}: unreadable ({exc})") from None
    return arrays

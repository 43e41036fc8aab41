"""The results file of a sweep: one row per point, appended as points finish.

Every row is written the moment its point finishes, so a killed sweep loses only the points
in flight:

``RESULTS.csv`` (always available)
    The file is its own journal: a header line, then one line per finished point, appended
    and flushed in the order the points finish.  When every point of the grid is done the
    file is rewritten atomically (temporary file + rename) in grid order.
``RESULTS.parquet`` (needs pyarrow)
    Finished rows go to the journal ``RESULTS.parquet.journal.csv``, as above; when every
    point is done, ``RESULTS.parquet`` is written atomically from the rows of an existing
    ``RESULTS.parquet`` and the journal, and the journal is removed.

Floats are written by their shortest round-trip text (``repr``), so a CSV row holds exactly
the float64 values that were computed; empty fields are missing values (None).  A line cut
short by a kill (no final newline) is dropped when the file is read and trimmed before the
next append.  The writer holds an exclusive lock on the journal, so two sweeps never append
to the same file.  When a key appears on several lines (a failed point run again), the last
line wins.
"""

import contextlib
import csv
import os

from .. import validation
from ..errors import GradflowError
from ..io.atomic import atomic_path
from ..io.files import open_regular
from .point import KEYED_AWAY_FROM_DEFAULT
from .schema import column_types, result_columns

#: Results formats by file extension.
FORMATS = {".csv": "csv", ".parquet": "parquet"}
#: Suffix of the journal of a Parquet output.
JOURNAL_SUFFIX = ".journal.csv"


def results_format(path):
    """``"csv"`` or ``"parquet"`` from the file name, or a GradflowError."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise GradflowError(f"{path}: the results file must end in .csv or .parquet; got "
                            f"{ext or 'none'!r}")
    return FORMATS[ext]


def require_pyarrow():
    """Import pyarrow's Parquet module, or say how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise GradflowError("Parquet results need the optional dependency pyarrow: pip "
                            "install 'gradflow[parquet]' (or write .csv, which needs "
                            "nothing)") from None
    return pyarrow


def encode(value):
    """One CSV field: '' for None, the shortest round-trip text for floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def decode(text, kind):
    """Inverse of :func:`encode` for a column of type ``kind`` (str, int or float)."""
    if text == "":
        return None
    if kind is str:
        return text
    return kind(text)


def lambda_count(columns):
    """k, from the ``lambda_1..lambda_k`` columns of a header."""
    k = 0
    while f"lambda_{k + 1}" in columns:
        k += 1
    return k


def _check_header(path, header, expected):
    if header == expected:
        return
    if "key" not in header or "status" not in header:
        raise GradflowError(f"{path}: not a gradflow sweep results file (no 'key' and "
                            "'status' columns)")
    k_file, k_here = lambda_count(header), lambda_count(expected)
    if k_file != k_here:
        raise GradflowError(f"{path}: holds results with k = {k_file} Lyapunov exponents; "
                            f"this sweep has k = {k_here}; choose another output")
    for i, (got, want) in enumerate(zip(header, expected, strict=False)):
        if got != want:
            raise GradflowError(f"{path}: its columns are not those of this version of "
                                f"gradflow (column {i + 1} is {got!r}, expected {want!r})")
    raise GradflowError(f"{path}: has {len(header)} columns; expected {len(expected)}")


def _older_columns(header, columns, older):
    """The file's columns when ``older`` allows a file written before the later options.

    A results file from before an option column existed (``leak``) is read with that
    column None in every row; anything else must match ``columns`` exactly.
    """
    if older and header != columns:
        earlier = [c for c in columns if c not in KEYED_AWAY_FROM_DEFAULT]
        if header == earlier:
            return earlier
    return None


def _read_csv(path, label, k=None, older=False):
    """``(columns, rows)`` of a CSV results file; a torn last line is dropped."""
    try:
        with open_regular(path, "results") as fh:
            data = fh.read()
    except OSError as exc:
        raise GradflowError(f"{label}: cannot read: {exc.strerror}") from None
    if not data:
        return None, []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GradflowError(f"{label}: not a gradflow sweep results file (not UTF-8 "
                            "text)") from None
    lines = text.split("\n")
    lines.pop()  # the empty tail after the last newline, or a line cut short by a kill
    if not lines:
        return None, []
    header = next(csv.reader([lines[0]]))
    if k is None:
        k = lambda_count(header)
    columns = result_columns(k)
    full = columns
    columns = _older_columns(header, columns, older) or columns
    _check_header(label, header, columns)
    types = column_types(k)
    rows = []
    for number, fields in enumerate(csv.reader(lines[1:]), start=2):
        if len(fields) != len(columns):
            raise GradflowError(f"{label}: line {number} has {len(fields)} fields; expected "
                                f"{len(columns)}")
        try:
            row = {c: decode(v, types[c]) for c, v in zip(columns, fields, strict=True)}
        except ValueError as exc:
            raise GradflowError(f"{label}: line {number}: {exc}") from None
        rows.append({c: row.get(c) for c in full})
    return full, rows


def _read_parquet(path, k=None, older=False):
    require_pyarrow()
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise GradflowError(f"{path}: not a readable Parquet file ({exc})") from None
    header = list(table.column_names)
    if k is None:
        k = lambda_count(header)
    columns = result_columns(k)
    _check_header(path, header, _older_columns(header, columns, older) or columns)
    return columns, [{c: row.get(c) for c in columns} for row in table.to_pylist()]


def _ends_with_a_line(path):
    """Whether the file is empty or ends with a newline."""
    with open_regular(path, "results") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return True
        fh.seek(size - 1)
        return fh.read(1) == b"\n"


def _keyed(rows):
    out = {}
    for row in rows:
        out.pop(row["key"], None)
        out[row["key"]] = row
    return out


def read_results(path):
    """Every row of a results file (and of its journal, for an unfinished Parquet sweep).

    Parameters
    ----------
    path : str or path-like
        ``RESULTS.csv`` or ``RESULTS.parquet``.

    Returns
    -------
    list of dict
        One dict per point (the last row of each key), values typed (str, int, float or None).
    """
    path = validation.path(path, "path")
    fmt = results_format(path)
    journal = path + JOURNAL_SUFFIX if fmt == "parquet" else path
    if os.path.isdir(path):
        raise GradflowError(f"{path}: is a folder, not a results file")
    if not os.path.exists(path) and not os.path.exists(journal):
        raise GradflowError(f"{path}: no such file")
    rows = []
    k = None
    if fmt == "parquet" and os.path.exists(path):
        columns, rows = _read_parquet(path, older=True)
        k = lambda_count(columns)
    if os.path.exists(journal):
        columns, more = _read_csv(journal, journal, k, older=True)
        rows += more
    return list(_keyed(rows).values())


class ResultsFile:
    """Reading, appending to and finalising one sweep's results file.

    Parameters
    ----------
    path : str or path-like
        ``RESULTS.csv`` or ``RESULTS.parquet``.
    k : int
        Number of Lyapunov exponents (the ``lambda_i`` columns).
    """

    def __init__(self, path, k):
        self.path = validation.path(path, "output")
        self.format = results_format(self.path)
        if self.format == "parquet":
            require_pyarrow()
        self.journal = self.path + (JOURNAL_SUFFIX if self.format == "parquet" else "")
        self.k = k
        self.columns = result_columns(k)
        self._fh = None
        self._writer = None
        self.tidy = True

    def read(self):
        """Rows already there, ``{key: row}`` (final file, then journal; the last wins)."""
        for where in (self.path, self.journal):
            if os.path.isdir(where):
                raise GradflowError(f"{where}: is a folder, not a results file")
        rows = []
        if self.format == "parquet" and os.path.exists(self.path):
            rows += _read_parquet(self.path, self.k)[1]
        torn = False
        if os.path.exists(self.journal):
            rows += _read_csv(self.journal, self.journal, self.k)[1]
            torn = not _ends_with_a_line(self.journal)
        keyed = _keyed(rows)
        # a row twice, or bytes after the last line (a torn write, NUL padding): rewrite it
        self.tidy = len(keyed) == len(rows) and not torn
        return keyed

    @property
    def has_journal(self):
        """Whether rows wait in a journal (always true of an existing CSV output)."""
        return os.path.exists(self.journal)

    def open(self):
        """Open the journal for appending: created with its header, a torn line trimmed, locked."""
        folder = os.path.dirname(os.path.abspath(self.journal))
        if not os.path.isdir(folder):
            shown = os.path.dirname(self.journal) or "."
            raise GradflowError(f"{self.journal}: cannot write: folder {shown} does not exist")
        try:
            fd = os.open(self.journal, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise GradflowError(f"{self.journal}: cannot write: {exc.strerror}") from None
        try:
            _lock(fd, self.journal)
            size = os.fstat(fd).st_size
            if size:
                keep = _complete_length(fd, size)
                if keep != size:
                    os.ftruncate(fd, keep)
                    size = keep
            fh = os.fdopen(fd, "a", newline="", encoding="utf-8")
        except BaseException:
            os.close(fd)
            raise
        self._fh = fh
        self._writer = csv.writer(fh, lineterminator="\n")
        if size == 0:
            self._writer.writerow(self.columns)
            fh.flush()

    def append(self, row):
        """Append one row and flush it to the operating system."""
        self._writer.writerow([encode(row.get(c)) for c in self.columns])
        self._fh.flush()

    def finalise(self, rows):
        """Write ``rows`` (every point, in grid order) as the final file, atomically."""
        if self.format == "csv":
            with atomic_path(self.path, suffix=".csv") as tmp:
                with open(tmp, "w", newline="", encoding="utf-8") as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(self.columns)
                    for row in rows:
                        writer.writerow([encode(row.get(c)) for c in self.columns])
                _usual_permissions(tmp)
            self.close()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        kinds = {str: pa.string(), int: pa.int64(), float: pa.float64()}
        types = column_types(self.k)
        schema = pa.schema([(c, kinds[types[c]]) for c in self.columns])
        table = pa.Table.from_pylist([{c: row.get(c) for c in self.columns} for row in rows],
                                     schema=schema)
        with atomic_path(self.path, suffix=".parquet") as tmp:
            pq.write_table(table, tmp)
            _usual_permissions(tmp)
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)

    def close(self):
        """Close (and unlock) the journal."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._writer = None


def _usual_permissions(path):
    """Give the permissions a plain ``open`` would (the umask's), not mkstemp's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _lock(fd, label):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise GradflowError(f"{label}: another sweep is writing to it; wait for it or choose "
                            "another output") from None


def _complete_length(fd, size):
    """Length of the file up to and including its last newline."""
    chunk = 4096
    end = size
    while end > 0:
        start = max(0, end - chunk)
        os.lseek(fd, start, os.SEEK_SET)
        data = os.read(fd, end - start)
        at = data.rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


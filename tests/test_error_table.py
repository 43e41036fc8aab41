"""docs/errors.md stays true: every row runs through the real CLI as a subprocess."""

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import error_cases
import numpy as np
import pytest

import gradflow as gf
from gradflow.io.atomic import atomic_path, refuse_overwriting_inputs
from gradflow.io.files import printable

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| `gradflow ([^`]*)` \| (\d) \| `(.*)` \|$")


def table_rows():
    rows = [ROW.match(line) for line in (ROOT / "docs" / "errors.md").read_text().splitlines()]
    return [m.groups() for m in rows if m]


def test_the_table_has_every_case():
    names = {r[0] for r in table_rows()}
    builders = {n for n in dir(error_cases) if not n.startswith("_")
                and callable(getattr(error_cases, n)) and n not in ("np", "gf", "zipfile")}
    assert len(names) >= 25 and names == builders


@pytest.mark.parametrize(("case", "command", "code", "message"), table_rows(),
                         ids=[r[0] for r in table_rows()])
def test_row(tmp_path, case, command, code, message):
    args = getattr(error_cases, case)(tmp_path)
    assert printable(" ".join(args)) == command  # a name's non-UTF-8 bytes as \xe9 escapes
    before = sorted(p.name for p in tmp_path.rglob("*"))
    env = {**os.environ, "GRADFLOW_MEMORY_LIMIT": str(8 * 2**30),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           **error_cases.ENVIRONMENTS.get(case, {})}
    limit = error_cases.FILE_SIZE_LIMITS.get(case)

    def limit_file_size():  # in the child only: writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "gradflow", *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300,
                       preexec_fn=limit_file_size if limit else None)
    assert r.returncode == int(code)
    lines = r.stderr.strip().splitlines()
    if int(code) == 2:  # Click prints usage lines before its own Error: line
        assert lines[-1] == message
    else:
        assert lines == [message]
    assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_failed_write_neither_leaves_a_partial_file_nor_clobbers(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    gf.RNN.init(3, 2, seed=0).save(path)
    original = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        gf.RNN.init(5, 2, seed=1).save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["w.npz"]


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        Path(tmp).write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


def test_output_equal_to_an_input_is_refused(tmp_path):
    w = tmp_path / "w.npz"
    w.write_bytes(b"x")
    (tmp_path / "link.npz").symlink_to(w)
    with pytest.raises(gf.GradflowError, match="would overwrite the input"):
        refuse_overwriting_inputs(tmp_path / "link.npz", [w])
    with pytest.raises(gf.GradflowError, match="would overwrite the input"):
        refuse_overwriting_inputs(str(tmp_path / "." / "w.npz"), [None, w])
    refuse_overwriting_inputs(tmp_path / "other.npz", [w])


def test_memory_guard_refuses_all_jacobians_of_a_long_run(monkeypatch):
    monkeypatch.setenv("GRADFLOW_MEMORY_LIMIT", str(2**20))
    model = gf.LSTM.init(32, 2)
    with pytest.raises(gf.GradflowError, match=r"all 2000 Jacobians \(64 x 64\).*needs about"):
        model.step_jacobians(np.zeros((2000, 2)))
    with pytest.raises(gf.GradflowError, match="trajectory .* needs about"):
        model.run(np.zeros((4000, 2)))


class _Payload:
    """Unpickling this would create the marker file: proof that nothing was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_hostile_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    hostile = np.empty((2, 2), dtype=object)
    hostile.fill(_Payload(str(marker)))
    arrays = {**gf.RNN.init(2, 1).weights, "cell": np.array("rnn"), "W_h": hostile}
    with open(tmp_path / "w.npz", "wb") as fh:
        np.savez(fh, **arrays)
    np.save(tmp_path / "x.npy", hostile, allow_pickle=True)
    assert not marker.exists()
    with pytest.raises(gf.GradflowError, match="pickled Python objects"):
        gf.load(tmp_path / "w.npz")
    gf.RNN.init(2, 1).save(tmp_path / "good.npz")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["decay", "w.npz"], ["decay", "good.npz", "--inputs", "x.npy"]):
        r = subprocess.run([sys.executable, "-m", "gradflow", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 1 and "pickled Python objects" in r.stderr
    assert not marker.exists()
    # control: numpy with pickles allowed does run the payload, so the test can fail
    np.load(tmp_path / "x.npy", allow_pickle=True)
    assert marker.exists()


def test_atomic_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        gf.RNN.init(2, 1).save(tmp_path / "w.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "w.npz").stat().st_mode & 0o777 == 0o644

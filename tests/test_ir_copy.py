"""The IR scope copy used while gradflow's kernels compile: the same copies, made faster."""

import copy

import numpy as np
import pytest
from numba.core import ir
from numba.core.compiler import run_frontend

from gradflow.kernels import _ir_copy


def _sample(x, n):
    total = 0.0
    for i in range(n):
        if x[i] > 0:
            total += x[i] * 2.0
        else:
            total -= x[i]
    return total + np.sum(x)


def _blocks():
    return run_frontend(_sample).blocks


pytestmark = pytest.mark.skipif(not _ir_copy.UNDERSTOOD,
                                reason="this Numba's IR scope is not the one the copy knows")


def test_block_copies_equal_the_generic_copies():
    blocks = _blocks()
    plain = {label: copy.deepcopy(block) for label, block in blocks.items()}
    with _ir_copy.scope_copies():
        fast = {label: copy.deepcopy(block) for label, block in blocks.items()}
    assert len(blocks) > 3
    for label, block in blocks.items():
        assert fast[label] == plain[label]
        assert [str(s) for s in fast[label].body] == [str(s) for s in plain[label].body]
        assert fast[label].scope is not block.scope
        assert fast[label].scope.localvars == block.scope.localvars
        # the block's own variables are new objects bound to the new scope
        for stmt in fast[label].body:
            for var in stmt.list_vars():
                assert var.scope is fast[label].scope


def test_what_is_defined_on_a_copy_stays_in_the_copy():
    block = next(iter(_blocks().values()))
    source = block.scope
    names = set(source.localvars._con)
    counts = dict(source.redefined)
    with _ir_copy.scope_copies():
        twin = copy.deepcopy(block).scope
    existing = next(iter(names))
    renamed = twin.redefine(existing, twin.loc)
    temp = twin.make_temp(twin.loc)
    assert renamed.name in twin.localvars and temp.name in twin.localvars
    assert set(source.localvars._con) == names
    assert dict(source.redefined) == counts
    assert renamed.name not in source.localvars


def test_installed_only_within_the_outermost_block():
    assert "__deepcopy__" not in vars(ir.Scope)
    with _ir_copy.scope_copies():
        assert vars(ir.Scope)["__deepcopy__"] is _ir_copy._copied_scope
        with _ir_copy.scope_copies():
            pass
        assert "__deepcopy__" in vars(ir.Scope)
    assert "__deepcopy__" not in vars(ir.Scope)
    with pytest.raises(RuntimeError), _ir_copy.scope_copies():
        raise RuntimeError("inside")
    assert "__deepcopy__" not in vars(ir.Scope)

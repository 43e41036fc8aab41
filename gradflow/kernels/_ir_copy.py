"""A faster copy of Numba IR scopes while gradflow's kernels compile (copies equal to Numba's).

To inline a kernel (``inline='always'``), Numba deep-copies the callee's IR twice per call
site, one block at a time with a fresh memo each.  Every block's variables point at the
function's one :class:`numba.core.ir.Scope`, which lists every variable of the function, so
each block's copy re-creates the whole scope through ``copy.deepcopy``'s generic machinery:
the cost grows with blocks times variables, and gradflow's inlined layers (the norm
estimator, the per-cell dispatch) made it a fifth of a cold compilation.

:func:`scope_copies` gives ``Scope`` a ``__deepcopy__`` that builds the copy directly: a new
scope with its own table of the same variables (names and locations, which nothing changes)
and its own redefinition counts, so that what is defined on the copy stays in the copy, at
a small fraction of the generic copy's cost.  It is installed only while a
gradflow kernel compiles (under Numba's compiler lock, so no other compilation runs then)
and taken away after; with a Numba whose ``Scope`` looks otherwise, nothing is changed.
"""

import contextlib
import copy
from collections import defaultdict

try:
    from numba.core import ir
except ImportError:  # pragma: no cover - Numba is a dependency
    ir = None

_FIELDS = {"parent", "localvars", "loc", "redefined", "var_redefinitions"}


def _understood():
    """Whether this Numba's Scope, VarMap and Var are the ones the copy below is written for."""
    if ir is None or "__deepcopy__" in vars(ir.Scope):
        return False
    try:
        scope = ir.Scope(None, ir.Loc("<check>", 0))
        var = scope.define("x", scope.loc)
    except Exception:  # noqa: BLE001 - another Numba: leave its IR alone
        return False
    return (set(vars(scope)) == _FIELDS and set(vars(var)) == {"scope", "name", "loc"}
            and getattr(scope.localvars, "_con", None) == {"x": var})


def _copied_scope(scope, memo):
    """``copy.deepcopy(scope, memo)``, built field by field.

    The new scope's table of variables is a new dict of the same ``Var`` objects: their
    names and locations are never changed, and a block's own variables are copied (bound to
    the new scope) by ``Var.__deepcopy__`` as before.  What is defined on the copy later
    (``redefine``, ``make_temp``) goes into the copy alone.
    """
    new = ir.Scope.__new__(ir.Scope)
    memo[id(scope)] = new
    new.parent = copy.deepcopy(scope.parent, memo)
    new.loc = copy.deepcopy(scope.loc, memo)
    new.localvars = ir.VarMap()
    new.localvars._con = dict(scope.localvars._con)
    new.redefined = defaultdict(int, scope.redefined)
    new.var_redefinitions = defaultdict(
        set, {name: set(names) for name, names in scope.var_redefinitions.items()})
    return new


UNDERSTOOD = _understood()


@contextlib.contextmanager
def scope_copies():
    """Copy IR scopes by :func:`_copied_scope` within the block (nested blocks: the outer one)."""
    if not UNDERSTOOD or "__deepcopy__" in vars(ir.Scope):
        yield
        return
    ir.Scope.__deepcopy__ = _copied_scope
    try:
        yield
    finally:
        del ir.Scope.__deepcopy__

"""The ``gradflow`` command line: one module per command, shared options in ``_options``.

Only Click is imported at start-up; each command imports the numerics it needs when it runs,
so ``gradflow --help`` is instant.
"""

import contextlib
import errno
import signal
import sys
import threading
import warnings

import click

from .._signals import clear, raise_if_received, record
from ._options import printable
from .bounds_cmd import bounds
from .claims_cmd import claims
from .compare_cmd import compare
from .decay_cmd import decay
from .fixedpoints_cmd import fixedpoints
from .import_torch_cmd import import_torch
from .init_cmd import init
from .lyapunov_cmd import lyapunov
from .report_cmd import report
from .spectrum_cmd import spectrum
from .sweep_cmd import sweep
from .sweep_report_cmd import sweep_report
from .theory_cmd import theory
from .train_cmd import train


class _Group(click.Group):
    """Turns gradflow's own errors into one ``Error:`` line and exit 1 (no traceback)."""

    def invoke(self, ctx):
        try:
            with _signals_as_interruptions(), _quiet_warnings(ctx):
                return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = printable(exc.message)
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException("interrupted") from None
        except Exception as exc:  # noqa: BLE001 - the one place that maps errors to exits
            from ..errors import GradflowError

            if ctx.obj and ctx.obj.get("debug"):
                raise
            if isinstance(exc, GradflowError):
                raise click.ClickException(printable(str(exc))) from None
            if isinstance(exc, OSError) and exc.errno in _WRITE_FAILURES:
                # a write outside gradflow's own outputs (Numba's cache, a library's
                # temporary file) on a full disk: the reason, not an internal error
                import os

                where = f"{printable(os.fsdecode(exc.filename))}: " if exc.filename else ""
                raise click.ClickException(
                    f"{where}cannot write: {os.strerror(exc.errno)} (a full disk, a quota or "
                    "a file-size limit); nothing was written") from None
            if isinstance(exc, MemoryError):
                raise click.ClickException(
                    "out of memory; try fewer steps or a smaller model"
                ) from None
            raise click.ClickException(printable(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)"
            )) from None


#: errno values of a write the file system refuses (full disk, file too large, quota,
#: read-only file system).
_WRITE_FAILURES = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C.

    So every ``finally`` runs: temporary files go, worker processes are stopped, a sweep's
    rows are saved.
    """


def _interrupt(signum, frame):
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process outright
    record(signal.Signals(signum).name)
    raise Interrupted(signal.Signals(signum).name)


def _keyboard_interrupt(signum, frame):
    record("SIGINT")
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_as_interruptions():
    """SIGTERM and SIGHUP raise :class:`Interrupted` while a command runs, Ctrl-C as ever.

    Each is recorded too (:mod:`gradflow._signals`): one that Python dropped still stops the
    command's outputs from being committed, and its exit is ``Error: interrupted``.

    Only signals left at their default action are taken over (``nohup`` keeps SIGHUP
    ignored), and only in the main thread, where Python runs signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    taken = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            taken[number] = signal.signal(number, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        taken[signal.SIGINT] = signal.signal(signal.SIGINT, _keyboard_interrupt)
    clear()
    try:
        yield
        raise_if_received()  # one raised where Python dropped it (a weakref callback)
    finally:
        for number, previous in taken.items():
            signal.signal(number, previous)
        clear()


@contextlib.contextmanager
def _quiet_warnings(ctx):
    """No Python or NumPy warnings on stderr (only gradflow's own lines), except with --debug.

    Every number gradflow reports is checked for over- and underflow where it is made, so a
    RuntimeWarning from NumPy, or a library's UserWarning, adds only noise to the one line.
    """
    if ctx.params.get("debug"):
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradflow")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def main(ctx, debug):
    """Measure how gradients flow backwards through time in RNN, LSTM and GRU cells.

    Exact per-step Jacobians, their products over every lag, and what they say about
    vanishing and exploding gradients.  Every analysis command takes --json.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


main.add_command(init)
main.add_command(decay)
main.add_command(spectrum)
main.add_command(bounds)
main.add_command(lyapunov)
main.add_command(compare)
main.add_command(import_torch)
main.add_command(train)
main.add_command(report)
main.add_command(sweep)
main.add_command(sweep_report)
main.add_command(theory)
main.add_command(fixedpoints)
main.add_command(claims)


def run():  # pragma: no cover - console entry for ``python -m gradflow.cli``
    """Run the CLI."""
    sys.exit(main())

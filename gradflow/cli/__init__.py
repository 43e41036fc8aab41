"""The ``gradflow`` command line: one module per command, shared options in ``_options``.

Only Click is imported at start-up; each command imports the numerics it needs when it runs,
so ``gradflow --help`` is instant.
"""

import sys

import click

from .bounds_cmd import bounds
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
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place that maps errors to exits
            from ..errors import GradflowError

            if ctx.obj and ctx.obj.get("debug"):
                raise
            if isinstance(exc, GradflowError):
                raise click.ClickException(str(exc)) from None
            if isinstance(exc, MemoryError):
                raise click.ClickException(
                    "out of memory; try fewer steps or a smaller model"
                ) from None
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)"
            ) from None


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


def run():  # pragma: no cover - console entry for ``python -m gradflow.cli``
    """Run the CLI."""
    sys.exit(main())

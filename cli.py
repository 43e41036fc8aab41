"""Run gradflow's command line from a checkout: ``python cli.py ...`` is ``gradflow ...``."""

from gradflow.cli import main

if __name__ == "__main__":
    main(prog_name="gradflow")

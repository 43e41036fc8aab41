"""``python -m gradflow`` runs the command line."""

from gradflow.cli import main

if __name__ == "__main__":
    main(prog_name="gradflow")

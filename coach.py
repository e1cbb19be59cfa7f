"""coach: the command-line entry. All behaviour lives in the `coach` package."""

from coach.cli.main import run

if __name__ == "__main__":
    run()

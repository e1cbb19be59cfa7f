"""Command-line interface (Typer). One module per command group; `main` assembles them."""

"""The session history: SQLAlchemy models, engine, migrations and queries (see DESIGN.md "Data kept")."""

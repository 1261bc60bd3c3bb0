"""Jieli's storage: settings, the catalog, SQLAlchemy models, repository functions, migrations."""

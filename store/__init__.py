"""Persistence for Centralino: SQLAlchemy models, sessions, migrations and demo data."""

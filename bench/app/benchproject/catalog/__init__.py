"""A small product catalogue for the ORM endpoints (a SQLite file the harness creates and fills)."""

"""The revoked-token table's migrations."""

"""The framework's configuration: the typed settings object, its checks and its reader.

Imported as :mod:`django_bolt.conf`, which re-exports the public names beside the server's
option table.
"""

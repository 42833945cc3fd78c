#!/usr/bin/env python
"""The database fault tests' Django project: ``python manage.py runbolt ...`` on PostgreSQL."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dbproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

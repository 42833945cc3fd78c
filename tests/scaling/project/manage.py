#!/usr/bin/env python
"""The scaling tests' Django project: one of the hosts is ``python manage.py runbolt ...``."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharedproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

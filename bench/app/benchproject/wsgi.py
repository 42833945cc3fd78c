"""WSGI entry point: gunicorn serves the project's plain Django views through it."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")

application = get_wsgi_application()

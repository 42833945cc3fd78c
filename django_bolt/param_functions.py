"""Django-Bolt's import path for the parameter markers: ``django_bolt.param_functions``.

The names are the markers of :mod:`django_bolt.params` themselves (not wrappers), so code may
import them from either module, or from ``django_bolt``, and get the same objects.
"""

from __future__ import annotations

from django_bolt.params import Body, Cookie, Depends, File, Form, Header, Path, Query

__all__ = ("Body", "Cookie", "Depends", "File", "Form", "Header", "Path", "Query")

"""Uploaded files and form bodies, where handlers import them: ``UploadFile``, ``FormData``.

They are defined with the form parser in :mod:`django_bolt._http.multipart`; this public module
names them (and the upload settings) for users and for Django-Bolt code.
"""

from django_bolt._http.multipart import (
    SPOOL_MAX_BYTES,
    FormData,
    UploadFile,
    UploadSettings,
    parse_form,
    upload_settings,
)

__all__ = (
    "SPOOL_MAX_BYTES",
    "FormData",
    "UploadFile",
    "UploadSettings",
    "parse_form",
    "upload_settings",
)

"""The table of :class:`~django_bolt.auth.DjangoORMRevocation`, as an optional Django app.

Add ``"django_bolt.jwt_revocation"`` to ``INSTALLED_APPS`` (and run ``migrate``) only when the
ORM store is chosen; ``django_bolt`` itself needs no app entry and creates no table.
"""

"""Django's own machinery around API requests: database connections, sessions, the URLconf.

``db`` keeps Django's connection rules on the threads that query (and ``ATOMIC_REQUESTS`` and
the request signals per route); ``sessions`` loads and saves ``request.session`` and resolves the
session's user; ``bridge`` hands requests no route matches to the project's URLconf; ``static``
serves ``STATIC_ROOT`` and ``MEDIA_ROOT``. The framework's own request path needs none of it
unless a handler (or a setting) asks.
"""

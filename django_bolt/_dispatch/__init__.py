"""The request path between the server and a handler, private to the framework.

``table`` matches a path to its routes; ``settings`` reads what compiling needs from Django's
settings, once; ``compile`` turns each declared route into an :class:`~.compile.Endpoint` that
carries the one ``call`` its kind needs; ``dispatcher`` answers every request through one
sequence (route, preflight, guard, call, errors, session and database, CORS, compression);
``errors`` turns exceptions into responses. ``BoltAPI`` (django_bolt.api) drives them.
"""

"""The request path between the server and a handler, private to the framework.

``table`` matches a path to its routes; ``settings`` reads what compiling needs from Django's
settings, once; ``compile`` turns each declared route into an :class:`~.compile.Endpoint` that
carries its ``guard`` and how its handler is called; ``dispatcher`` answers every request
through one sequence (route, preflight, guard, handler, errors, session and database, CORS,
compression); ``errors`` turns exceptions into responses. ``BoltAPI`` (django_bolt.api) drives
them. Inside: ``table`` and ``settings`` import nothing of the rest, ``compile`` imports
``table``, ``dispatcher`` imports ``table`` and ``errors``; ``compile``'s types are imported
for the type checker only.
"""

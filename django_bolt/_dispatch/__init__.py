"""The request path between the server and a handler, private to the framework.

``table`` matches a path to its routes; ``settings`` reads what compiling needs from Django's
settings, once; ``compile`` turns each declared route into an :class:`~.compile.Endpoint` that
carries its ``guard`` and how its handler is called; ``dispatcher`` answers every request
through one sequence (route, preflight, guard, handler, errors, session and database, CORS,
compression); ``errors`` turns exceptions into responses; ``inline`` lets the dispatcher call an
``async def`` handler that cannot suspend as a plain function. ``BoltAPI`` (django_bolt.api)
drives them. Inside: ``table`` and ``settings`` import nothing of the rest, ``compile`` imports
``table`` and ``inline``, ``dispatcher`` imports ``table``, ``errors`` and ``inline``;
``compile``'s types are imported for the type checker only.
"""

"""Binding: a handler's arguments built from the request, compiled once per route.

``plan`` classifies the arguments; ``extract`` reads their raw values (one reader per source);
``binder`` converts and validates them (msgspec) and calls the handler; ``fast`` is the shortcut
for routes of single str/int values; ``dependencies`` runs ``Depends()`` callables.
"""

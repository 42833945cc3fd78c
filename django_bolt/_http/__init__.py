"""HTTP formats without I/O: what the framework reads from a request and writes into a response.

``parse`` decodes the query string, header block and cookies (one reader per format, shared by
``Request``'s views, form parsing and the binders); ``multipart`` parses form bodies; ``wire``
is the bytes-level response handed to the server, ``files``, ``sse`` and ``streams`` the file,
Server-Sent Events and streamed bodies built on it. Nothing here knows routes or handlers.
"""

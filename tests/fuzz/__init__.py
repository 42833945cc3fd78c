"""Shared pieces of the request-path fuzz tests (tests/server/test_fuzz.py in-process, and
tests/integration/test_fuzz_socket.py over a real socket): the app they attack, the generated
requests and the invariants every answer must keep."""

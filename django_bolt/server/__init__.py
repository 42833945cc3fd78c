"""The HTTP/1.1 server: protocol, workers, supervisor. Knows nothing of routes or Django models."""

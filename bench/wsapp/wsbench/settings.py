"""Settings of the WebSocket echo benchmark: one echo route, nothing else."""

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django_bolt"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, object] = {}
BOLT_API = ["wsbench.api:api"]
USE_TZ = True

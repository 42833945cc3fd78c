"""URLconf of the discovery fixture project (its package is the project package)."""

urlpatterns: list[object] = []

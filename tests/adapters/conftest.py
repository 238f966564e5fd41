"""The storage adapter tests use ``postgres_dsn`` from ``tests/conftest.py``."""

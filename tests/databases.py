"""A database of a test's own, on the engine the suite runs on. Free of Django, so that
the processes tests start (tests/test_concurrency.py) may import it before setup."""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit


def new_database(folder, stem):
    """(DATABASE_URL of a new, empty database, a function that drops it): a SQLite file
    in `folder`, or, when the suite runs on PostgreSQL, a database made on its server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{folder / f'{stem}.sqlite3'}", lambda: None
    import psycopg

    parts = urlsplit(url)
    name = f"heritage_{stem}_{secrets.token_hex(4)}"
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop

"""Reads from a PostgreSQL read replica, writes to the primary (DATABASE_REPLICA_URL).

A replica trails the primary by a moment, so a read goes to it only when a moment's
staleness is harmless: within a request that has not written, from a client that has
not written in the last REPLICA_LAG_SECONDS, outside a transaction on the primary.
Everything else reads the primary, and so sees what it has just written.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

COOKIE = "wrote"
# Keeps this cookie's signature from passing for any other value the project signs.
SALT = "heritage.routers"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class Reads:
    """Where the reads of one request, or one replica_reads() block, go."""

    def __init__(self, primary=False):
        # Set when the client wrote moments ago: the replica may not have its write yet.
        self.primary = primary
        # Set by the first write of this request (or by its method); from then on it
        # reads the primary, and its answer tells the client to do so for a while.
        self.wrote = False


_reads = ContextVar("heritage_reads", default=None)


@contextmanager
def replica_reads(primary=False):
    """Reads within the block may go to the replica, until the block writes.

    Outside any such block (management commands, the shell, migrations) every read goes
    to the primary: a command that creates rows and then looks them up, as loading the
    record or a post-migrate handler does, would otherwise miss them on a replica that
    has not caught up. A long read-only command may opt in with this block."""
    reads = Reads(primary)
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


class ReplicaRouter:
    """Writes and migrations to `primary`, reads to `replica` when replica_reads() allows.

    Objects read from either may be related to each other: they are the same data."""

    primary = "default"
    replica = "replica"

    def db_for_read(self, model, **hints):
        reads = _reads.get()
        if reads is None or reads.primary or reads.wrote:
            return self.primary
        # A read in a transaction must see the transaction's own writes, and a read that
        # decides a write (select, then update) must not work from a stale copy.
        if connections[self.primary].in_atomic_block:
            return self.primary
        return self.replica

    def db_for_write(self, model, **hints):
        # Asking where to write counts as writing. The admin's change pages ask before
        # they show a form, so curators read the primary there, as they should.
        reads = _reads.get()
        if reads is not None:
            reads.wrote = True
        return self.primary

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {self.primary, self.replica}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica copies the primary's schema; it cannot be written to.
        return db == self.primary


class ReplicaMiddleware:
    """Lets a request's reads go to the replica, unless it writes (any method but GET,
    HEAD, OPTIONS and TRACE, or a write made during a GET) or its client wrote less than
    REPLICA_LAG_SECONDS ago: the answer to a write carries a signed cookie saying when,
    so that the page a curator is sent to after saving shows what they saved.

    First in MIDDLEWARE, so that sessions and authentication read by the same rule."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.lag = settings.REPLICA_LAG_SECONDS

    def __call__(self, request):
        recent = request.get_signed_cookie(COOKIE, None, salt=SALT, max_age=self.lag)
        with replica_reads(primary=recent is not None) as reads:
            reads.wrote = request.method not in SAFE_METHODS
            response = self.get_response(request)
        if response.streaming and not response.is_async:
            # A streamed export reads its rows as it is sent, after this method returns.
            response.streaming_content = _within(reads, response.streaming_content)
        if reads.wrote:
            # Only the write's own answer sets it: reads within the lag do not extend it.
            response.set_signed_cookie(
                COOKIE,
                "1",
                salt=SALT,
                max_age=self.lag,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def _within(reads, content):
    """Each chunk of `content` read by the request's rule, with the rule lifted between
    chunks, while the server, not the request, runs."""
    chunks = iter(content)
    while True:
        token = _reads.set(reads)
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        finally:
            _reads.reset(token)
        yield chunk

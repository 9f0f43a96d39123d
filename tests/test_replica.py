"""Reads from a read replica (DATABASE_REPLICA_URL): against a real PostgreSQL primary
and its streaming replica, started here in a temporary folder on free ports, whatever
database the rest of the suite runs on. Reads go to the replica, writes to the primary,
and whoever has just written reads the primary."""

import glob
import json
import os
import runpy
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path

from heritage.models import BackupMark
from heritage.routers import COOKIE, ReplicaRouter, replica_reads

# The pair's aliases: their own, so that the suite's test database is never routed to.
PRIMARY = "replica_test_primary"
REPLICA = "replica_test_standby"
SUPERUSER = "postgres"
SETTINGS = str(Path(__file__).resolve().parent.parent / "heritage" / "settings.py")


class Router(ReplicaRouter):
    primary = PRIMARY
    replica = REPLICA


# Servers


def postgres_bin():
    """The folder of initdb, pg_ctl, pg_basebackup and postgres, or a skip."""
    folders = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        folders.append(found.stdout.strip())
    folders += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in folders:
        names = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
        if folder and all(os.access(Path(folder, name), os.X_OK) for name in names):
            return Path(folder)
    pytest.skip("no PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) found")


def server_user():
    """The command prefix that runs the servers: none, or, as root (whom initdb refuses),
    runuser as the postgres user. A skip when neither is possible."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("runuser"):
        pytest.skip("running as root, and no runuser to start PostgreSQL as another user")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    if subprocess.run([*as_postgres, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root, and runuser cannot run commands as the postgres user")
    return as_postgres


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.1)


def sql(port, query, dbname="postgres"):
    with psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname=dbname, autocommit=True
    ) as conn:
        cursor = conn.execute(query)
        return cursor.fetchone() if cursor.description else None


@pytest.fixture(scope="module")
def servers():
    """(primary's port, replica's port): a primary with a database `heritage`, and a
    streaming replica of it, both stopped at the end whatever happens."""
    programs, as_user = postgres_bin(), server_user()
    folder = Path(tempfile.mkdtemp(prefix="heritage-replica-"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    started = []

    def run(*command):
        done = subprocess.run(
            [*as_user, *command], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"

    def start(data, port):
        options = f"-p {port} -k {folder}"
        started.append(data)
        run(programs / "pg_ctl", "-D", data, "-l", f"{data}.log", "-w", "-o", options, "start")

    try:
        primary, replica = folder / "primary", folder / "replica"
        primary_port, replica_port = free_port(), free_port()
        run(programs / "initdb", "-D", primary, "-U", SUPERUSER, "--auth=trust", "--no-sync")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\n"
                "wal_level = replica\n"
                "max_wal_senders = 4\n"
                "hot_standby = on\n"
                # A throwaway server: durability costs time and buys nothing here.
                "fsync = off\n"
            )
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write(f"host replication {SUPERUSER} 127.0.0.1/32 trust\n")
        start(primary, primary_port)
        sql(primary_port, "CREATE DATABASE heritage")
        run(
            programs / "pg_basebackup",
            *("-D", replica, "-R", "-X", "stream", "--checkpoint=fast"),
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", SUPERUSER),
        )
        start(replica, replica_port)
        wait_for(lambda: sql(replica_port, "SELECT pg_is_in_recovery()")[0], 30, "a standby")
        wait_for(
            lambda: sql(primary_port, "SELECT count(*) FROM pg_stat_replication")[0],
            30,
            "the replica streaming from the primary",
        )
        yield primary_port, replica_port
    finally:
        for data in reversed(started):
            subprocess.run(
                [*as_user, programs / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                cwd=folder,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)


def database(port):
    """Settings for `heritage` on that port, with Django's defaults for the rest."""
    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "heritage",
        "USER": SUPERUSER,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    return connections.configure_settings({"default": settings})["default"]


@pytest.fixture(scope="module")
def aliases(servers, django_db_blocker):
    """The two servers as the aliases PRIMARY and REPLICA, with BackupMark's table on the
    primary (a model of the register's with no foreign keys). `connections` is left as
    it was found: the aliases are closed and removed afterwards."""
    primary_port, replica_port = servers
    connections.settings[PRIMARY] = database(primary_port)
    connections.settings[REPLICA] = database(replica_port)
    try:
        with django_db_blocker.unblock(), connections[PRIMARY].schema_editor() as editor:
            editor.create_model(BackupMark)
        yield
    finally:
        for alias in (PRIMARY, REPLICA):
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]


@pytest.fixture
def pair(aliases, settings, django_db_blocker):
    """The router and middleware as settings.py configures them, between the two."""
    settings.DATABASE_ROUTERS = [Router()]
    settings.REPLICA_LAG_SECONDS = 5
    settings.MIDDLEWARE = ["heritage.routers.ReplicaMiddleware"]
    settings.ROOT_URLCONF = __name__
    with django_db_blocker.unblock():
        yield


def in_recovery(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


def served_by(queryset):
    """Runs `queryset` and names the alias whose connection ran it."""
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in (PRIMARY, REPLICA)
        }
        list(queryset)
    return [alias for alias, queries in captured.items() if len(queries)]


# A tiny site for the middleware: each answer says where its reads went.


def where_reads_go():
    alias = router.db_for_read(BackupMark)
    return {"alias": alias, "in_recovery": in_recovery(alias)}


def probe(request):
    return HttpResponse(json.dumps(where_reads_go()), content_type="application/json")


def probe_writing(request):
    BackupMark.objects.create()
    return probe(request)


def probe_streaming(request):
    return StreamingHttpResponse(json.dumps(where_reads_go()) for _ in range(1))


urlpatterns = [
    path("probe/", probe),
    path("probe/writing/", probe_writing),
    path("probe/streaming/", probe_streaming),
]


def reads(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return json.loads(body)


REPLICA_READ = {"alias": REPLICA, "in_recovery": True}
PRIMARY_READ = {"alias": PRIMARY, "in_recovery": False}


# The settings


def settings_with(monkeypatch, **environ):
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "REPLICA_LAG_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS)


def test_without_a_replica_url_the_settings_have_no_replica(monkeypatch):
    names = settings_with(monkeypatch, DATABASE_URL="postgres://heritage@db.example/heritage")

    assert list(names["DATABASES"]) == ["default"]
    assert "DATABASE_ROUTERS" not in names
    assert "REPLICA_LAG_SECONDS" not in names
    assert "heritage.routers.ReplicaMiddleware" not in names["MIDDLEWARE"]


def test_a_replica_url_adds_the_replica_its_router_and_its_middleware_first(monkeypatch):
    names = settings_with(
        monkeypatch,
        DATABASE_URL="postgres://heritage@primary.example/heritage",
        DATABASE_REPLICA_URL="postgres://heritage@replica.example:5433/heritage",
        REPLICA_LAG_SECONDS="3",
    )

    replica = names["DATABASES"]["replica"]
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == (
        "replica.example",
        5433,
        "heritage",
    )
    # The test suite reads through the primary's test database, and makes no second one.
    assert replica["TEST"] == {"MIRROR": "default"}
    assert names["DATABASE_ROUTERS"] == ["heritage.routers.ReplicaRouter"]
    assert names["MIDDLEWARE"][0] == "heritage.routers.ReplicaMiddleware"
    assert names["REPLICA_LAG_SECONDS"] == 3


def test_a_replica_is_refused_in_front_of_sqlite(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        settings_with(
            monkeypatch,
            DATABASE_URL="sqlite:///register.sqlite3",
            DATABASE_REPLICA_URL="postgres://heritage@replica.example/heritage",
        )


# The pair itself


def test_the_replica_is_a_read_only_standby_of_the_primary(pair):
    assert in_recovery(REPLICA)
    assert not in_recovery(PRIMARY)
    with pytest.raises(DatabaseError, match="read-only"):
        BackupMark.objects.using(REPLICA).create()


def test_a_write_on_the_primary_reaches_the_replica(pair):
    mark = BackupMark.objects.create()
    assert mark._state.db == PRIMARY

    on_replica = BackupMark.objects.using(REPLICA).filter(token=mark.token)
    wait_for(on_replica.exists, 10, "the write replicated")


# The router, outside requests


def test_a_read_outside_a_request_goes_to_the_primary(pair):
    # Commands and the shell read what they have just written (heritage/routers.py).
    assert served_by(BackupMark.objects.all()) == [PRIMARY]


def test_where_the_replica_is_allowed_a_read_goes_to_it_and_a_write_to_the_primary(pair):
    with replica_reads():
        assert served_by(BackupMark.objects.all()) == [REPLICA]
        assert in_recovery(router.db_for_read(BackupMark))

        with CaptureQueriesContext(connections[PRIMARY]) as on_primary:
            mark = BackupMark.objects.create()
        assert mark._state.db == PRIMARY
        assert any(query["sql"].startswith("INSERT") for query in on_primary)
        assert not in_recovery(router.db_for_write(BackupMark))


def test_after_a_write_the_same_block_reads_the_primary(pair):
    with replica_reads():
        BackupMark.objects.create()
        assert served_by(BackupMark.objects.all()) == [PRIMARY]


def test_a_read_in_a_transaction_on_the_primary_sees_that_transactions_writes(pair):
    with replica_reads(), transaction.atomic(using=PRIMARY):
        # Written behind the router's back, so that only the transaction sends the read
        # to the primary; uncommitted, the row is nowhere else.
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute(
                "INSERT INTO heritage_backupmark (taken, token) VALUES (now(), 'in-transaction')"
            )
        found = BackupMark.objects.filter(token="in-transaction")
        assert served_by(found) == [PRIMARY]
        assert found.exists()
        transaction.set_rollback(True, using=PRIMARY)


# The middleware, through the test client


def test_a_get_reads_the_replica(pair, client):
    assert reads(client.get("/probe/")) == REPLICA_READ
    assert COOKIE not in client.cookies


def test_a_post_and_the_same_clients_next_get_read_the_primary(pair, client):
    assert reads(client.post("/probe/")) == PRIMARY_READ
    assert reads(client.get("/probe/")) == PRIMARY_READ
    # Anyone else reads the replica meanwhile.
    assert reads(Client().get("/probe/")) == REPLICA_READ


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_every_writing_method_reads_the_primary(pair, client, method):
    assert reads(getattr(client, method)("/probe/")) == PRIMARY_READ
    assert reads(client.get("/probe/")) == PRIMARY_READ


def test_a_get_that_writes_reads_the_primary_from_its_write_on(pair, client):
    assert reads(client.get("/probe/writing/")) == PRIMARY_READ
    assert reads(client.get("/probe/")) == PRIMARY_READ


def test_once_the_lag_has_passed_the_client_reads_the_replica_again(pair, client, settings):
    settings.REPLICA_LAG_SECONDS = 1
    client.post("/probe/")
    within_lag = client.get("/probe/")
    assert reads(within_lag) == PRIMARY_READ
    # Reading does not extend the lag: only a write's answer sets the cookie.
    assert COOKIE not in within_lag.cookies
    time.sleep(2.1)
    assert reads(client.get("/probe/")) == REPLICA_READ


def test_a_forged_cookie_does_not_send_reads_to_the_primary(pair, client):
    client.cookies[COOKIE] = "1"
    assert reads(client.get("/probe/")) == REPLICA_READ


def test_a_streamed_answer_reads_the_replica_while_it_is_sent(pair, client):
    assert reads(client.get("/probe/streaming/")) == REPLICA_READ

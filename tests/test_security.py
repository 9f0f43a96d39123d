"""Safe on the open internet: production settings, the content security policy, admin
logins, and throttles shared between server processes."""

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("palmyra")


def production(tmp_path, **overrides):
    """The environment of a production server, as docs/deploy.md sets it (less what the
    browser tests set for themselves)."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "register.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BEHIND_PROXY": "true",
        **overrides,
    }


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_production_settings_pass_django_s_deployment_checks(tmp_path):
    result = manage(production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage(production(tmp_path, SECRET_KEY=""), "check")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_sends_visitors_to_https_and_keeps_them_there(tmp_path):
    script = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = manage(production(tmp_path), "shell", "--no-imports", "-c", script)
    assert result.stdout.strip().split(maxsplit=4) == [
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO', 'https')",
    ]


# The content security policy


class InlineCode(HTMLParser):
    """Scripts and styles written into a page, and style attributes."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._open = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.found.append(("style attribute", tag, attrs.get("nonce")))
        if any(name.startswith("on") for name in attrs):
            self.found.append(("event handler", tag, None))
        inline = tag == "style" or (tag == "script" and "src" not in attrs)
        if inline and attrs.get("type") not in ("application/json", "application/ld+json"):
            self.found.append((tag, tag, attrs.get("nonce")))


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


PUBLIC = ["/", "/sites/", "/sites/temple-of-bel/", "/events/", "/sources/", "/about/"]
ADMIN = [
    "/admin/",
    "/admin/heritage/damageevent/1/history/",
    "/admin/heritage/damageevent/",
    "/admin/heritage/site/add/",
    "/admin/reports/source/",
    "/admin/heritage/damageevent/deleted/",
]


@pytest.mark.parametrize("url", [*PUBLIC, "/api/v1/docs/", "/api/v1/events/"])
def test_every_page_is_sent_with_a_content_security_policy(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", [*PUBLIC, "/api/v1/docs/"])
def test_public_pages_carry_no_inline_code_without_the_nonce(client, url):
    response = client.get(url)
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    for kind, tag, given in inline_code(response.content.decode()):
        assert nonce, f"{kind} in <{tag}> on {url}, and no nonce in the policy"
        assert given == nonce.group(1), f"{kind} in <{tag}> on {url}"


@pytest.mark.parametrize("url", ADMIN)
def test_admin_pages_carry_no_inline_script_without_the_nonce(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    scripts = [found for found in inline_code(response.content.decode()) if found[0] == "script"]
    for kind, _, given in scripts:
        assert nonce, f"{kind} on {url}, and no nonce in the policy"
        assert given == nonce.group(1), f"{kind} on {url}"


def test_map_tiles_may_load_from_the_tile_server_only(client, settings):
    policy = client.get("/")["Content-Security-Policy"]
    assert f"img-src 'self' data: {settings.MAP_TILES_ORIGIN}" in policy
    assert settings.MAP_TILES_ORIGIN == "https://tile.openstreetmap.org"


# Admin logins


def test_repeated_failed_logins_lock_the_account_out_from_that_address(client, settings):
    user = get_user_model().objects.create_user("keeper", password="a long and good passphrase")
    user.is_staff = True
    user.save()
    wrong = {"username": "keeper", "password": "wrong guess"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/admin/login/", wrong).status_code == 200  # the form, an error
    assert client.post("/admin/login/", wrong).status_code == 429
    locked = client.post(
        "/admin/login/", {"username": "keeper", "password": "a long and good passphrase"}
    )
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address may still log in as that user.
    elsewhere = client.post(
        "/admin/login/",
        {"username": "keeper", "password": "a long and good passphrase"},
        REMOTE_ADDR="192.0.2.7",
    )
    assert elsewhere.status_code == 302


def test_a_successful_login_resets_the_count(client, settings):
    user = get_user_model().objects.create_user("keeper", password="a long and good passphrase")
    user.is_staff = True
    user.save()
    good = {"username": "keeper", "password": "a long and good passphrase"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "keeper", "password": "wrong guess"})
    assert client.post("/admin/login/", good).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "keeper", "password": "wrong guess"})
    assert client.post("/admin/login/", good).status_code == 302


def test_passwords_are_hashed_with_argon2(django_user_model):
    user = django_user_model.objects.create_user("hashed", password="a long and good passphrase")
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1!", "too short"), ("password1234", "too common"), ("384729102938", "numeric")],
)
def test_weak_passwords_are_refused(password, reason):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=reason):
        validate_password(password)


# Throttles shared between processes


@pytest.fixture
def redis_cache(settings):
    """The default cache on the local Redis, as CACHE_URL configures it, in a database
    of its own, emptied before and after."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/3")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 (.ci/run starts one)")
    client.flushdb()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
            "KEY_PREFIX": "heritage-test",
        }
    }
    yield client
    client.flushdb()


def test_api_throttles_count_in_the_shared_cache(api, redis_cache, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "rate", "3/minute", raising=False)
    codes = [api.get("/api/v1/sites/").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    # What another server process would read: the count lives in Redis, not here.
    keys = [key.decode() for key in redis_cache.keys("heritage-test:*throttle_anon*")]
    assert len(keys) == 1
    assert api.get("/api/v1/sites/").status_code == 429


def test_kept_api_answers_live_in_the_shared_cache(api, redis_cache):
    api.get("/api/v1/events/")
    assert redis_cache.keys("heritage-test:*api-answer:*")
    assert api.get("/api/v1/events/").status_code == 200


def test_a_cache_url_that_is_not_redis_is_refused(tmp_path):
    result = manage(production(tmp_path, CACHE_URL="memcached://127.0.0.1:11211"), "check")
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr

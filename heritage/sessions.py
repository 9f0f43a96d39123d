"""Django's database sessions, refusing a session key that no session could have."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    """Keys Django makes are letters and digits. Any other cookie value (a NUL, which a
    quoted cookie can carry as "\\000") is no session at all, rather than a lookup that
    PostgreSQL cannot make and answers with an error."""

    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isalnum()

"""Who makes an API request: DRF's token authentication, hardened."""

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's, refusing outright a key with a NUL character ("Authorization: Token \\x00"),
    which it would look up in the database as given: PostgreSQL cannot compare text
    holding one, and answers an error (a 500) rather than no token."""

    def authenticate_credentials(self, key):
        if "\x00" in key:
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)

"""What every answer of the register carries, and the limit on anonymous page requests."""

from django.conf import settings
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle


class PermissionsPolicyMiddleware:
    """Sends the Permissions-Policy header: the register's pages use no camera,
    microphone, location or payment, so none of them (nor anything framed in them) may
    ask for them."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response


class PageThrottle(AnonRateThrottle):
    """Anonymous requests for public pages, counted per client address in the cache the
    API's throttles use (settings PAGE_ANON_RATE)."""

    scope = "pages"


class PageThrottleMiddleware:
    """Throttles anonymous visitors of the public pages as the API throttles its
    anonymous clients: past PAGE_ANON_RATE, a 429 saying when to come back. Curators
    (logged in), the API (throttled by DRF), the admin and static files are not
    counted here."""

    EXEMPT = ("/api/", "/admin/", "/static/", "/media/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.EXEMPT) and not request.user.is_authenticated:
            throttle = PageThrottle()
            if not throttle.allow_request(request, None):
                wait = max(1, round(throttle.wait() or 1))
                response = render(request, "429.html", {"wait": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)

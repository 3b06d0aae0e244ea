"""The answer to a failed CSRF check: CsrfViewMiddleware's CSRF_FAILURE_VIEW (settings.py)."""

from django.http import HttpRequest, JsonResponse

from shared.runtime.errors import error_body


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """403 csrf_failed with the shared body, whatever the reason (Django's page names it)."""
    return JsonResponse(error_body("csrf_failed"), status=403)

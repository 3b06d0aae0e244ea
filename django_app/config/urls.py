"""The root URLconf, and the handlers that give Django's own errors the shared JSON body."""

from django.urls import include, path

# Part by part, as aiohttp_app/main.py sets them up. The basics come last: their
# `<str:name>` route would take any one-segment path.
urlpatterns = [
    path("", include("django_app.data.urls")),
    path("", include("django_app.concurrency.urls")),
    path("", include("django_app.realtime.urls")),
    path("", include("django_app.accounts.urls")),
    path("", include("django_app.patterns.urls")),
    path("", include("django_app.basics.urls")),
]

handler400 = "django_app.basics.views.bad_request"
handler404 = "django_app.basics.views.not_found"
handler500 = "django_app.basics.views.server_error"

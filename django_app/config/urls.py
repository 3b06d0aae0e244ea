"""The root URLconf, and the handlers that give Django's own errors the shared JSON body."""

from django.urls import include, path

from django_app.basics.urls import fallback_urlpatterns

# Part by part, as aiohttp_app/main.py sets them up, the basics first: Django tries the patterns
# in order, so GET /json is matched before any other part's are tried. Their `<str:name>` route
# comes last, as it would take any one-segment path.
urlpatterns = [
    path("", include("django_app.basics.urls")),
    path("", include("django_app.data.urls")),
    path("", include("django_app.concurrency.urls")),
    path("", include("django_app.realtime.urls")),
    path("", include("django_app.accounts.urls")),
    path("", include("django_app.patterns.urls")),
    path("", include(fallback_urlpatterns)),
]

handler400 = "django_app.basics.views.bad_request"
handler404 = "django_app.basics.views.not_found"
handler500 = "django_app.basics.views.server_error"

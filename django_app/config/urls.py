"""The root URLconf, and the handlers that give Django's own errors the shared JSON body."""

from django.urls import include, path

urlpatterns = [
    path("", include("django_app.behaviours.urls")),
]

handler400 = "django_app.behaviours.views.bad_request"
handler404 = "django_app.behaviours.views.not_found"
handler500 = "django_app.behaviours.views.server_error"

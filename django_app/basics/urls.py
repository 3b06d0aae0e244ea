"""URL routes, in the same order as aiohttp_app/basics/routes.py."""

from django.urls import path

from django_app.basics import views

urlpatterns = [
    path("", views.hello, name="hello-anonymous"),
    path("json", views.json_hello, name="json"),
    path("delay", views.delay, name="delay"),
    path("<str:name>", views.hello, name="hello"),
]

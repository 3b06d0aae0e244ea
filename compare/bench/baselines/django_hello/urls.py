"""The baseline's routes."""

from django.urls import path

from compare.bench.baselines.django_hello import views

urlpatterns = [
    path("", views.hello),
    path("json", views.json_hello),
    path("json-sync", views.json_sync),
]

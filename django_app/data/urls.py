"""URL routes of part 2, in the same order as aiohttp_app/data/routes.py."""

from django.urls import path, register_converter

from django_app.data import views
from shared.runtime.data import ID_PATTERN


class IdConverter:
    """An item id: at most 18 digits, so it fits the 64-bit column (longer is a 404, not a 500)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("items", views.ItemsView.as_view(), name="items"),
    path("items/search", views.search_items, name="items-search"),
    path("items/<id:item_id>", views.ItemView.as_view(), name="item"),
    path("counters/<str:name>", views.counter, name="counter"),
    path("counters/<str:name>/increment", views.increment_counter, name="counter-increment"),
    path(
        "counters/<str:name>/increment-racy",
        views.increment_counter_racy,
        name="counter-increment-racy",
    ),
    path("files", views.FilesView.as_view(), name="files"),
    path("files/<uuid:file_id>", views.download_file, name="file"),
    path("errors/boom", views.boom, name="errors-boom"),
]

"""URL routes of part 2, in the same order as django_app/data/urls.py."""

from aiohttp import web

from aiohttp_app.data import views
from aiohttp_app.data.uploads import expect_upload
from shared.runtime.data import ID_PATTERN, UUID_PATTERN


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.view("/items", views.ItemsView, name="items"),
            web.get("/items/search", views.search_items, name="items-search"),
            web.view(f"/items/{{id:{ID_PATTERN}}}", views.ItemView, name="item"),
            web.get("/counters/{name:[^/]+}", views.counter, name="counter"),
            web.post(
                "/counters/{name:[^/]+}/increment",
                views.increment_counter,
                name="counter-increment",
            ),
            web.post(
                "/counters/{name:[^/]+}/increment-racy",
                views.increment_counter_racy,
                name="counter-increment-racy",
            ),
            web.view("/files", views.FilesView, name="files", expect_handler=expect_upload),
            web.get(f"/files/{{id:{UUID_PATTERN}}}", views.download_file, name="file"),
            web.get("/errors/boom", views.boom, name="errors-boom"),
        ]
    )

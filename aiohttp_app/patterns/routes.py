"""URL routes of part 6, in the same order as django_app/patterns/urls.py."""

from aiohttp import web

from aiohttp_app.patterns import audit, cpu, pages, paging, queue, raw, wallets
from shared.runtime.data import ID_PATTERN


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/cpu", cpu.cpu, name="cpu"),
            web.get("/pitfalls/cpu", cpu.pitfall_cpu, name="pitfall-cpu"),
            web.get("/queue", queue.queue, name="queue"),
            web.get("/items/raw", raw.raw_items, name="items-raw"),
            web.get("/items.html", pages.items_page, name="items-page"),
            # Class views for the collections, so that GET /wallets is a 405 and not the
            # basics' `/{name}`, the next route whose path matches.
            web.view("/wallets", wallets.WalletsView, name="wallets"),
            web.get(f"/wallets/{{id:{ID_PATTERN}}}", wallets.wallet, name="wallet"),
            web.view("/transfers", wallets.TransfersView, name="transfers"),
            web.get(
                f"/items/pages/{{number:{ID_PATTERN}}}", paging.items_pages, name="items-pages"
            ),
            web.get(f"/items/{{id:{ID_PATTERN}}}/audit", audit.item_audit, name="item-audit"),
        ]
    )

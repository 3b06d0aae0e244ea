"""URL routes of part 6, in the same order as aiohttp_app/patterns/routes.py."""

from django.urls import path

from django_app.patterns import audit, cpu, pages, paging, queue, raw, wallets

urlpatterns = [
    path("cpu", cpu.cpu, name="cpu"),
    path("pitfalls/cpu", cpu.pitfall_cpu, name="pitfall-cpu"),
    path("queue", queue.queue, name="queue"),
    path("items/raw", raw.raw_items, name="items-raw"),
    path("items.html", pages.items_page, name="items-page"),
    path("wallets", wallets.WalletsView.as_view(), name="wallets"),
    path("wallets/<id:wallet_id>", wallets.wallet, name="wallet"),  # data/urls.py's converter
    path("transfers", wallets.TransfersView.as_view(), name="transfers"),
    path("items/pages/<id:number>", paging.items_pages, name="items-pages"),
    path("items/<id:item_id>/audit", audit.item_audit, name="item-audit"),
]

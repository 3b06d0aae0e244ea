"""Wallets and atomic transfers: `transaction.atomic` in a sync function, through sync_to_async."""

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.shortcuts import aget_object_or_404
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_safe

from django_app.bodies import read_json
from django_app.patterns.models import Transfer, Wallet
from shared.runtime.errors import ApiError
from shared.runtime.patterns import TRANSFER_FIELDS, WALLET_FIELDS, check_transfer, no_wallet


class WalletsView(View):
    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> JsonResponse:
        fields = await read_json(request, WALLET_FIELDS)
        wallet = await Wallet.objects.acreate(**fields)
        response = JsonResponse(wallet.to_json(), status=201)
        response["Location"] = reverse("wallet", kwargs={"wallet_id": wallet.id})
        return response


@require_safe
async def wallet(request: HttpRequest, wallet_id: int) -> JsonResponse:
    found = await aget_object_or_404(Wallet, id=wallet_id)
    return JsonResponse(found.to_json())


def move_money(source: int, destination: int, amount: int) -> Transfer:
    """Debit, then credit, in one transaction: whatever raises here undoes both.

    Synchronous, because transaction.atomic is: Django's transactions belong to a connection,
    and under ASGI each async ORM call may run on a connection of its own thread, so an atomic
    block around awaits would not hold them. The whole block runs in one sync_to_async thread.
    """
    with transaction.atomic():
        # PostgreSQL: both rows locked, in id order, so two opposite transfers never deadlock.
        # SQLite has no row locks: its IMMEDIATE transactions (settings.py) take the write lock.
        list(Wallet.objects.select_for_update().filter(id__in=(source, destination)).order_by("id"))
        debited = Wallet.objects.filter(id=source, balance__gte=amount).update(
            balance=F("balance") - amount
        )
        if debited == 0:
            if not Wallet.objects.filter(id=source).exists():
                raise no_wallet("from")
            raise ApiError("insufficient_funds")
        # A destination no wallet has is found here, after the debit: raising rolls it back.
        credited = Wallet.objects.filter(id=destination).update(balance=F("balance") + amount)
        if credited == 0:
            raise no_wallet("to")
        return Transfer.objects.create(source_id=source, destination_id=destination, amount=amount)


class TransfersView(View):
    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> JsonResponse:
        source, destination, amount = check_transfer(await read_json(request, TRANSFER_FIELDS))
        transfer = await sync_to_async(move_money)(source, destination, amount)
        return JsonResponse(transfer.to_json(), status=201)

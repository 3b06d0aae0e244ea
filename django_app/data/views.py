"""HTTP views of part 2; aiohttp_app/data/views.py has the same ones, in the same order."""

import asyncio
import uuid
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import aget_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views import View
from django.views.decorators.http import require_POST, require_safe

from django_app.bodies import read_json
from django_app.data.cache import cache_item, cached_item
from django_app.data.models import Counter, Item, StoredFile
from django_app.data.signals import item_changed
from django_app.data.uploads import read_chunks, receive_upload
from django_app.params import header
from shared.runtime.data import (
    ITEM_FIELDS,
    MULTIPART_MEDIA_TYPE,
    RACE_WINDOW_SECONDS,
    SEARCH_RESULTS_MAX,
    check_counter_name,
    check_media_type,
    check_upload_length,
    parse_page,
    parse_search_name,
    stored_path,
)
from shared.runtime.patterns import CACHE_HEADER, DELETED, UPDATED
from shared.runtime.validation import check_content_encoding


# Each class view takes the methods it names: Django's View would also answer OPTIONS itself,
# which aiohttp's web.View does not; HEAD it serves from get().
class ItemsView(View):
    http_method_names = ("get", "head", "post")

    async def get(self, request: HttpRequest) -> JsonResponse:
        page = parse_page(request.GET.getlist("limit"), request.GET.getlist("offset"))
        items = Item.objects.order_by("id")[page.offset : page.offset + page.limit]
        count = await Item.objects.acount()
        return JsonResponse({"items": [item.to_json() async for item in items], "count": count})

    async def post(self, request: HttpRequest) -> JsonResponse:
        fields = await read_json(request, ITEM_FIELDS)
        item = await Item.objects.acreate(**fields)
        response = JsonResponse(item.to_json(), status=201)
        response["Location"] = reverse("item", kwargs={"item_id": item.id})
        return response


def find_items(name: str) -> list[Item]:
    """Synchronous on purpose, like a library you cannot rewrite: the sync ORM, evaluated here.

    list() runs the query inside this function, so inside sync_to_async's thread. Seed 000's
    `await sync_to_async(Item.objects.filter)(name=name)` only builds the lazy queryset in the
    thread; evaluating it afterwards, in the event loop, raises SynchronousOnlyOperation.
    """
    return list(Item.objects.filter(name=name).order_by("id")[:SEARCH_RESULTS_MAX])


@require_safe
async def search_items(request: HttpRequest) -> JsonResponse:
    name = parse_search_name(request.GET.getlist("name"))
    items = await sync_to_async(find_items)(name)
    return JsonResponse({"items": [item.to_json() for item in items]})


class ItemView(View):
    http_method_names = ("delete", "get", "head", "patch")

    async def get(self, request: HttpRequest, item_id: int) -> JsonResponse:
        found = await cached_item(item_id)
        hit = found is not None
        if found is None:
            item = await aget_object_or_404(Item, id=item_id)  # not cached: may be created later
            found = await cache_item(item)
        return JsonResponse(found, headers={CACHE_HEADER: "hit" if hit else "miss"})

    async def patch(self, request: HttpRequest, item_id: int) -> JsonResponse:
        item = await aget_object_or_404(Item, id=item_id)
        changes = await read_json(request, ITEM_FIELDS, partial=True)
        for name, value in changes.items():
            setattr(item, name, value)
        await item.asave(update_fields=list(changes))  # post_save's receivers run in it
        await item_changed.asend_robust(sender=Item, item_id=item_id, item=item, event=UPDATED)
        return JsonResponse(item.to_json())

    async def delete(self, request: HttpRequest, item_id: int) -> HttpResponse:
        item = await aget_object_or_404(Item, id=item_id)
        await item.adelete()  # post_delete's receivers run in it; then item.id is None
        await item_changed.asend_robust(sender=Item, item_id=item_id, item=item, event=DELETED)
        return HttpResponse(status=204)


@require_safe
async def counter(request: HttpRequest, name: str) -> JsonResponse:
    check_counter_name(name)
    found = await Counter.objects.filter(name=name).afirst()
    return JsonResponse((found or Counter(name=name)).to_json())


@require_POST
async def increment_counter(request: HttpRequest, name: str) -> JsonResponse:
    check_counter_name(name)
    found, _ = await Counter.objects.aget_or_create(name=name)
    # One UPDATE ... SET value = value + 1: the database adds, so no increment is lost.
    await Counter.objects.filter(id=found.id).aupdate(value=F("value") + 1)
    await found.arefresh_from_db(fields=["value"])
    return JsonResponse(found.to_json())


@require_POST
async def increment_counter_racy(request: HttpRequest, name: str) -> JsonResponse:
    """THE ANTI-PATTERN, kept on purpose: read, await, write back. Concurrent calls lose updates."""
    check_counter_name(name)
    found, _ = await Counter.objects.aget_or_create(name=name)
    await asyncio.sleep(
        RACE_WINDOW_SECONDS
    )  # any await here lets other requests read the same value
    found.value += 1
    await found.asave(update_fields=["value"])
    return JsonResponse(found.to_json())


class FilesView(View):
    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> JsonResponse:
        check_media_type(header(request, "Content-Type"), MULTIPART_MEDIA_TYPE)
        check_content_encoding(header(request, "Content-Encoding"))
        check_upload_length(int(request.META.get("CONTENT_LENGTH") or 0))
        received = await sync_to_async(receive_upload)(request)
        try:
            stored = await StoredFile.objects.acreate(
                id=received.id,
                name=received.name,
                media_type=received.media_type,
                size=received.size,
                sha256=received.sha256,
            )
        except BaseException:
            received.discard()
            raise
        return JsonResponse(stored.to_json(), status=201)


@require_safe
async def download_file(request: HttpRequest, file_id: uuid.UUID) -> StreamingHttpResponse:
    stored = await aget_object_or_404(StoredFile, id=file_id)
    path = stored_path(Path(settings.MEDIA_ROOT), stored.id)
    response = StreamingHttpResponse(read_chunks(path), content_type=stored.media_type)
    response["Content-Length"] = stored.size
    response["Content-Disposition"] = content_disposition_header(True, stored.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
async def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: an unhandled error, on purpose (the traceback goes to the log)")

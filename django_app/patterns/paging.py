"""Pages of items by number with Django's AsyncPaginator, which the pinned Django 6.1 has."""

from django.core.paginator import AsyncPaginator, EmptyPage
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from django_app.data.models import Item
from shared.runtime.patterns import parse_per_page


@require_safe
async def items_pages(request: HttpRequest, number: int) -> JsonResponse:
    per_page = parse_per_page(request.GET.getlist("per_page"))
    paginator = AsyncPaginator(Item.objects.order_by("id"), per_page)
    try:
        page = await paginator.apage(number)  # counts the rows, then slices the queryset
    except EmptyPage:  # 0, or past the last page
        raise Http404 from None
    return JsonResponse(
        {
            "items": [item.to_json() async for item in page],
            "number": page.number,
            "pages": await paginator.anum_pages(),
            "count": await paginator.acount(),  # counted once: apage() kept it
            "has_previous": await page.ahas_previous(),
            "has_next": await page.ahas_next(),
        }
    )

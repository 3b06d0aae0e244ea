"""An HTML page rendered from the database: Django's template engine, from an async view."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from django_app.data.models import Item
from shared.runtime.patterns import PAGE_ITEMS_MAX, PAGE_TEMPLATE, parse_page_filter


@require_safe
async def items_page(request: HttpRequest) -> HttpResponse:
    text = parse_page_filter(request.GET.getlist("q"))
    query = Item.objects.filter(name__contains=text).order_by("name", "id")[:PAGE_ITEMS_MAX]
    # Read into a list here, with the async ORM. Django's template engine is synchronous: handed
    # the lazy queryset, it would run the query itself, in the event loop's thread, and Django
    # raises SynchronousOnlyOperation (tests/test_django_patterns.py shows it).
    items = [item async for item in query]
    # render() then only formats the list: no database access, nothing that waits.
    return render(request, PAGE_TEMPLATE, {"items": items})

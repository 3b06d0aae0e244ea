"""The baseline's views: async, as the suite's are; sync ones for WSGI and the ASGI-cost study."""

from django.http import HttpRequest, HttpResponse, JsonResponse


async def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, Anonymous", content_type="text/plain; charset=utf-8")


async def json_hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Hello, async world!"})


def json_sync(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Hello, async world!"})


def hello_sync(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, Anonymous", content_type="text/plain; charset=utf-8")

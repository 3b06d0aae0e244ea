"""HTTP views of part 5; aiohttp_app/accounts/views.py has the same ones, in the same order."""

from asgiref.sync import sync_to_async
from django.contrib.auth import aauthenticate, alogin, alogout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views import View
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from django_app.accounts.throttle import count_attempt, forget_attempts
from django_app.bodies import read_json
from django_app.data.models import Item
from shared.runtime.accounts import (
    ACCOUNT_FIELDS,
    ME_ITEMS_MAX,
    check_username_length,
    password_refused,
    username_refused,
)
from shared.runtime.errors import ApiError


class AccountsView(View):
    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> JsonResponse:
        fields = await read_json(request, ACCOUNT_FIELDS)
        username = User.normalize_username(fields["username"])
        check_username_length(username)
        try:
            User.username_validator(username)
        except ValidationError:
            raise username_refused() from None
        try:  # AUTH_PASSWORD_VALIDATORS (settings.py): the first that refuses it is named
            validate_password(fields["password"])
        except ValidationError as refused:
            raise password_refused(refused.error_list[0].code or "") from None
        if await User.objects.filter(username=username).aexists():
            raise ApiError("username_taken")
        # acreate_user() would hash on the event loop (make_password, tens of milliseconds in
        # which nothing else runs): set_password() in a worker thread instead, as
        # acheck_password() runs its hasher. PASSWORD_HASHERS' first: Argon2id.
        user = User(username=username)
        await sync_to_async(user.set_password, thread_sensitive=False)(fields["password"])
        try:
            await user.asave()
        except IntegrityError:  # taken meanwhile, by a sign-up in flight at the same time
            raise ApiError("username_taken") from None
        return JsonResponse({"username": username}, status=201)


# urls.py wraps it, and `me`, in Django's session and authentication middlewares (with_session),
# and it in csrf_protect: its POST and DELETE need the CSRF check.
class SessionView(View):
    http_method_names = ("delete", "post")

    async def post(self, request: HttpRequest) -> JsonResponse:
        fields = await read_json(request, ACCOUNT_FIELDS)
        username = User.normalize_username(fields["username"])
        await count_attempt(username)
        user = await aauthenticate(request, username=username, password=fields["password"])
        if user is None:
            raise ApiError("invalid_credentials")
        await forget_attempts(username)
        await alogin(request, user)
        return JsonResponse({"username": user.get_username()})

    async def delete(self, request: HttpRequest) -> HttpResponse:
        await alogout(request)
        return HttpResponse(status=204)


@require_safe
async def me(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        raise ApiError("not_authenticated")
    return JsonResponse({"username": user.get_username()})


@require_safe
@login_required  # no user: a redirect to LOGIN_URL (settings.py), the path in `next`
async def me_items(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    items = [item.to_json() async for item in Item.objects.order_by("id")[:ME_ITEMS_MAX]]
    count = await Item.objects.acount()
    return JsonResponse({"username": user.get_username(), "items": items, "count": count})


@require_safe
@ensure_csrf_cookie  # CsrfViewMiddleware's cookie, set on this answer, renewed
async def csrf(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"csrf": get_token(request)})

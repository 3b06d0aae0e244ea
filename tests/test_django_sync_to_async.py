"""Seed 000's sync_to_async example on the real model: why it raises, and the ways that work."""

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.http import FileResponse, StreamingHttpResponse

from django_app.data.models import Item
from django_app.data.uploads import read_chunks
from django_app.data.views import find_items
from shared.runtime.data import UPLOAD_CHUNK_BYTES

# The ORM runs in sync_to_async's threads: each needs the test database, committed to.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_seed_000_example_raises_when_its_lazy_queryset_is_evaluated() -> None:
    await Item.objects.acreate(name="foo")
    # Seed 000, with this project's model: filter() runs in the thread but only builds a lazy
    # queryset; no query has run yet.
    results = await sync_to_async(Item.objects.filter)(name="foo")
    # len() runs the query here, in the event loop's thread, which Django refuses.
    with pytest.raises(SynchronousOnlyOperation, match="async context"):
        len(results)


async def test_evaluating_inside_the_thread_works() -> None:
    first = await Item.objects.acreate(name="foo")
    await Item.objects.acreate(name="bar")
    second = await Item.objects.acreate(name="foo")
    # What the view does: find_items() returns a list, so the query ran inside the thread.
    found = await sync_to_async(find_items)("foo")
    assert [item.id for item in found] == [first.id, second.id]
    # The same, without a thread: the async ORM.
    assert [item.id async for item in Item.objects.filter(name="foo").order_by("id")] == [
        first.id,
        second.id,
    ]


async def test_file_response_reads_a_whole_file_before_sending_under_asgi(tmp_path: Path) -> None:
    path = tmp_path / "large"
    path.write_bytes(bytes(5 * UPLOAD_CHUNK_BYTES))
    with path.open("rb") as source:
        response = FileResponse(source)
        chunks = aiter(response)  # what Django's ASGI handler iterates
        assert isinstance(chunks, AsyncGenerator)  # django-stubs says AsyncIterator: no aclose()
        with pytest.warns(Warning, match="must consume synchronous iterators"):
            first = await anext(chunks)
        # One small block has been handed over, but the whole file has been read already.
        assert len(first) == FileResponse.block_size
        assert source.tell() == path.stat().st_size
        await chunks.aclose()


async def test_an_async_iterator_streams_chunk_by_chunk(tmp_path: Path) -> None:
    path = tmp_path / "large"
    path.write_bytes(bytes(5 * UPLOAD_CHUNK_BYTES + 1))
    response = StreamingHttpResponse(read_chunks(path))  # what download_file sends
    sizes = [len(chunk) async for chunk in aiter(response)]
    assert sizes == [UPLOAD_CHUNK_BYTES] * 5 + [1]

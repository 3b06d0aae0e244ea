"""The docs tell the run's story: generated blocks current, links resolved, a short README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compare.docs import BLOCKS, Block
from shared.harness.targets import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
README_MAX_LINES = 200  # a newcomer reads it in ten minutes; the rest is in docs/
GENERATED = re.compile(r"<!-- ([\w-]+):begin -->.*?<!-- \1:end -->", re.S)
FIGURE = re.compile(r"[0-9]+(\.[0-9]+)?(×|%|k\b| ms| s\b)")
RENDERED_ONLY = [PROJECT_ROOT / "docs" / "django-asgi-cost.md"]  # no figure typed by hand


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b.path.name}:{b.name}")
def test_a_generated_block_is_what_its_data_renders(block: Block) -> None:
    assert block.current() == block.rendered(), (
        f"{block.path.relative_to(PROJECT_ROOT)}'s {block.name} block is stale:"
        " run `python -m compare docs`"
    )


@pytest.mark.parametrize("doc", RENDERED_ONLY, ids=lambda p: p.name)
def test_every_figure_is_in_a_generated_block(doc: Path) -> None:
    outside = GENERATED.sub("", doc.read_text(encoding="utf-8")).splitlines()
    typed = [line for line in outside if FIGURE.search(line)]
    assert not typed, f"{doc.name} has figures outside its generated blocks: {typed}"


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move some to docs/"


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    links = [link for link in LINK.findall(text) if "://" not in link]
    missing = [link for link in links if not (doc.parent / link).exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"


def test_the_readme_links_every_doc() -> None:
    linked = {(README.parent / link).resolve() for link in LINK.findall(README.read_text())}
    assert not [doc.name for doc in DOCS if doc.resolve() not in linked]

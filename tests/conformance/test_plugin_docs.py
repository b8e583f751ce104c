"""The release-gate recipe shows what the example ships: the factory file whole, the install command untagged."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "release-gate.md"
FACTORY = REPO / "examples" / "acme_provider" / "src" / "acme_provider" / "__init__.py"


def test_the_factory_in_the_docs_is_the_example_file() -> None:
    docs = DOCS.read_text()
    heading = "The example, `examples/acme_provider/src/acme_provider/__init__.py`, whole"
    assert heading in docs
    block = re.search(r"```python\n(.*?)```", docs[docs.index(heading):], re.S)
    assert block is not None and block.group(1) == FACTORY.read_text()


def test_the_documented_installs_need_no_tag() -> None:
    for path in (DOCS, REPO / "examples" / "ci" / "provider-gate.yml", REPO / "examples" / "acme_provider" / "README.md"):
        urls = re.findall(r"git\+https://\S+", path.read_text())
        assert urls, path
        assert all("@" not in url.removeprefix("git+https://").rstrip('"') for url in urls), (path, urls)

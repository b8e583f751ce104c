"""Fixtures the provider tests share."""

from __future__ import annotations

import pytest
import respx

from .wire import BASE


@pytest.fixture
def mock():
    """A respx router for the chat server at ``BASE``: every route must be called, no request goes unrouted."""
    with respx.mock(base_url=BASE, assert_all_called=True, assert_all_mocked=True) as router:
        yield router

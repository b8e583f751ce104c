"""A folder of fake checks that pytest runs as the suite, for the tests of the gate and its reports.

The plugin loads the suite's hooks only in the suite's own runs: its folder, or any `--conformance-`
option. A fake suite lives elsewhere (pytester's tmp folder), so its ini names one.
"""

from __future__ import annotations

import pytest

SUITE_INI = (
    "[pytest]\n"
    "asyncio_default_fixture_loop_scope = function\n"
    "addopts = --conformance-matrix-dir=reports/conformance\n"
)


def make_fake_suite(pytester: pytest.Pytester, **modules: str) -> pytest.Pytester:
    """`pytester` holding the given test modules (name -> source) and the ini that makes its runs the suite's."""
    pytester.makeini(SUITE_INI)
    pytester.makepyfile(**modules)
    return pytester

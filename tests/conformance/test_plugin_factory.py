"""A broken provider factory stops the run before any check, with one message and exit code 4."""

from __future__ import annotations

import pytest

from conformance.pytest_entry import SUITE_DIR

pytest_plugins = ["pytester"]

FACTORIES = '''
from conformance.mutants import mutant

def raises(*, base_url, model_id, api_key, **config):
    raise RuntimeError("no ACME_REGION configured")

def returns_a_dict(*, base_url, model_id, api_key, **config):
    return {"base_url": base_url}

def positional_only(url, model):
    raise AssertionError("never called: the signature is checked first")

def works(*, base_url, model_id, api_key, **config):
    return mutant("faithful", base_url=base_url, model_id=model_id, api_key=api_key, **config)
'''


@pytest.mark.parametrize(
    ("factory", "problem"),
    [
        ("raises", "calling it with base_url, model_id, api_key raised RuntimeError: no ACME_REGION configured"),
        ("returns_a_dict", "it returned builtins.dict, not a strands.models.Model"),
        ("positional_only", "its signature (url, model) does not take base_url, model_id, api_key as keywords"),
    ],
)
def test_a_broken_factory_is_one_message_and_exit_4(pytester: pytest.Pytester, factory: str, problem: str) -> None:
    pytester.makepyfile(acme_factories=FACTORIES)
    pytester.syspathinsert()
    result = pytester.runpytest(str(SUITE_DIR / "checks"), "--conformance-provider", f"acme_factories:{factory}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = "\n".join(result.errlines + result.outlines)
    assert output.count("the factory is broken") == 1, output[-3000:]
    assert f"--conformance-provider acme_factories:{factory}: the factory is broken: {problem}" in output
    assert "The contract: factory(*, base_url: str, model_id: str, api_key: str, **config)" in output
    assert "passed" not in output and "failed" not in output, "no check may run"


def test_a_working_factory_passes_the_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(acme_factories=FACTORIES)
    pytester.syspathinsert()
    result = pytester.runpytest(
        str(SUITE_DIR / "checks"), "--conformance-provider", "acme_factories:works", "--co", "-q",
        "-p", "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.OK, "\n".join(result.errlines[-20:])

"""The suite's command line: bad options fail at once with the fix; replay problems fail the check."""

from __future__ import annotations

import time

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _quiet_asyncio(pytester):
    """The inner runs' project chooses its loop scope, as the docs ask, so pytest-asyncio does not warn."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def _errors(result) -> str:
    return "\n".join(result.errlines + result.outlines)


def test_unknown_provider_lists_the_known_ones(pytester):
    result = pytester.runpytest("--conformance-provider", "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'nosuch' is not a reference provider; known: neuron, vllm, llamacpp, openai" in _errors(result)


def test_unimportable_factory_says_what_failed(pytester):
    result = pytester.runpytest("--conformance-provider", "no_such_package.models:factory")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "importing module 'no_such_package.models' failed: ModuleNotFoundError" in _errors(result)


def test_missing_factory_attribute_lists_the_module(pytester):
    result = pytester.runpytest("--conformance-provider", "json:no_factory")
    assert "module 'json' has no attribute 'no_factory'" in _errors(result)


def test_unknown_wire_lists_known(pytester):
    result = pytester.runpytest("--conformance-wire", "smoke-signals")
    assert "unknown wire family 'smoke-signals'; known: " in _errors(result) and "openai-chat" in _errors(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conformance-record"], "--conformance-record refreshes cassettes from a live server: add --conformance-live"),
        (["--conformance-base-url", "http://x"], "--conformance-base-url/--conformance-model-id only apply with --conformance-live"),
        (["--conformance-live", "--conformance-base-url", "http://x"], "--conformance-live --conformance-base-url needs --conformance-model-id"),
    ],
)
def test_inconsistent_modes_refused(pytester, args, message):
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in _errors(result)


def test_unreachable_live_server_fails_once_naming_the_url(pytester):
    pytester.makepyfile(
        test_many="""
        import pytest
        @pytest.mark.parametrize("n", range(50))
        def test_never_runs(n):
            raise AssertionError("a check ran although the server is down")
        """
    )
    started = time.perf_counter()
    result = pytester.runpytest("--conformance-live", "--conformance-base-url", "http://127.0.0.1:9", "--conformance-model-id", "m")
    text = _errors(result)
    assert "the server at http://127.0.0.1:9 is unreachable" in text
    assert "\n".join(result.errlines).count("unreachable") == 1, "one probe, one message"
    assert result.ret == 4
    assert "a check ran" not in text
    assert time.perf_counter() - started < 10


CONFTEST = """
from pathlib import Path
from conformance.wires import WireFamily, register_wire
from conformance.wires.openai_chat import decode_openai_chat, read_openai_chat_request

register_wire(
    WireFamily("unit-wire", "/v1", decode_openai_chat, stop_reasons={}, read_request=read_openai_chat_request,
               recordings_root=Path(__file__).parent / "rec"),
    replace=True,
)
"""

CHECK = """
import pytest
pytestmark = pytest.mark.family("event_grammar")

@pytest.mark.cases("text_basic")
async def test_streams_once(conformance_run):
    '''Severity: must -- a check of the suite states its severity.'''
    await conformance_run.valid_stream()
"""


def _unit_wire(pytester, interactions: int) -> None:
    from conformance.written.openai_chat import HELLO, streamed, text_events, cassette
    from conformance.cassette import dumps_cassette

    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n")
    pytester.makepyfile(test_check=CHECK)
    item = cassette("text_basic", "unit", [streamed(text_events(HELLO)) for _ in range(interactions)])
    item.wire = "unit-wire"
    folder = pytester.path / "rec" / "unit-wire"
    folder.mkdir(parents=True)
    (folder / "text_basic.written.json").write_text(dumps_cassette(item))


def test_cassette_interaction_never_played_fails_the_check(pytester):
    _unit_wire(pytester, interactions=2)
    result = pytester.runpytest("--conformance-provider", "neuron", "--conformance-wire", "unit-wire", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "1 interaction(s) never played, from #1" in _errors(result)


def test_matrix_ids_read_provider_case_variant(pytester):
    _unit_wire(pytester, interactions=1)
    result = pytester.runpytest("--conformance-provider", "neuron", "--conformance-provider", "vllm", "--conformance-wire", "unit-wire", "-v")
    result.assert_outcomes(passed=2)
    assert "test_streams_once[neuron-text_basic-written] PASSED" in _errors(result)
    assert "test_streams_once[vllm-text_basic-written] PASSED" in _errors(result)


def test_missing_cassette_is_a_failing_row_not_a_missing_one(pytester):
    _unit_wire(pytester, interactions=1)
    (pytester.path / "rec" / "unit-wire" / "text_basic.written.json").unlink()
    result = pytester.runpytest("--conformance-provider", "neuron", "--conformance-wire", "unit-wire")
    result.assert_outcomes(errors=1)
    assert "no cassette for case 'text_basic'" in _errors(result)


RECORD_PROBE = """
import pytest
from conformance.evidence import RUN_RECORD_KEY

SEEN = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        record = item.stash[RUN_RECORD_KEY]
        SEEN[item.name] = (record.family, record.cassette, len(record.events) > 0, len(record.requests), record.mode)
        print("RECORD", item.name, SEEN[item.name])
"""


def test_run_record_filled_before_the_call_report(pytester):
    _unit_wire(pytester, interactions=1)
    pytester.makeconftest(CONFTEST + RECORD_PROBE)
    result = pytester.runpytest("--conformance-provider", "neuron", "--conformance-wire", "unit-wire", "-s")
    result.assert_outcomes(passed=1)
    assert "RECORD test_streams_once[neuron-text_basic-written] ('event_grammar', 'text_basic.written', True, 1, 'replay')" in _errors(result)



def _settings_for(pytester, *args: str):
    """The suite's settings as its pytest_configure builds them from a command line."""
    from conformance.plugin import SETTINGS_KEY
    from conformance.pytest_entry import SUITE_DIR

    return pytester.parseconfigure("-p", "no:cacheprovider", str(SUITE_DIR), *args).stash[SETTINGS_KEY]


def test_default_matrix_pairs_every_reference_provider_with_its_own_wire(pytester):
    settings = _settings_for(pytester)
    wires = {entry.name: settings.wire_for(entry.name).name for entry in settings.providers}
    assert wires == {
        "neuron": "openai-chat", "vllm": "openai-chat", "llamacpp": "openai-chat", "openai": "openai-chat",
        "anthropic": "anthropic", "bedrock": "bedrock-converse", "ollama": "ollama", "mistral": "mistral",
        "writer": "writer", "llamaapi": "llama-api", "litellm": "litellm", "gemini": "gemini", "sagemaker": "sagemaker",
        "openai-responses": "openai-responses", "sglang": "sglang-generate",
    }


def test_provider_alone_picks_its_own_wire_and_wire_overrides_it(pytester):
    assert _settings_for(pytester, "--conformance-provider", "anthropic").wire_for("anthropic").name == "anthropic"
    overridden = _settings_for(pytester, "--conformance-provider", "litellm", "--conformance-wire", "openai-chat")
    assert overridden.wire_for("litellm").name == "openai-chat"
    factory = "conformance.mutants:faithful"
    assert _settings_for(pytester, "--conformance-provider", factory).wire_for(factory).name == "openai-chat"


def test_an_unrelated_run_loads_no_suite_plugin_and_takes_no_short_name(pytester):
    pytester.makepyfile(test_unrelated="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--provider", "neuron")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --provider" in _errors(result)
    config = pytester.parseconfigure("-p", "no:cacheprovider")
    assert not config.pluginmanager.has_plugin("conformance.plugin")


def test_a_short_name_another_plugin_owns_stays_theirs(pytester):
    """pytest-base-url declares --base-url: the suite must neither clash with it nor read it."""
    pytester.makepyfile(their_plugin="def pytest_addoption(parser):\n    parser.addoption('--base-url', default=None)\n")
    pytester.syspathinsert()
    from conformance.plugin import SETTINGS_KEY
    from conformance.pytest_entry import SUITE_DIR

    config = pytester.parseconfigure(
        "-p", "their_plugin", str(SUITE_DIR), "--provider", "neuron", "--base-url", "http://theirs")
    assert config.option.base_url == "http://theirs"
    assert config.stash[SETTINGS_KEY].base_url is None
    assert [entry.name for entry in config.stash[SETTINGS_KEY].providers] == ["neuron"]

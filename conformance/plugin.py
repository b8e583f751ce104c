"""pytest plugin of the conformance suite (options and fixtures); loaded through the pytest11 entry point.

It turns the command line into a matrix: every check that takes the `conformance_run` fixture and
declares its cases (`@pytest.mark.cases(...)`) and family (`pytest.mark.family(...)`) becomes one
test per provider x case x cassette (replay) or x live server (`--conformance-live`), ids like
`test_tool_call[neuron-tool_parallel-written]`. The `conformance_run` fixture hands the check a `Run`
(the provider built against the replay or the live server), fills the `RunRecord` the report
plugins read, fails a check whose cassette was not fully played or met a request it does not hold,
and in `--conformance-record` mode writes the cassette of a passing live run.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from strands.models import Model

from conformance.cases import SERVER_KINDS, get_case
from conformance.cassette import Cassette, CassetteError, load_cassette
from conformance.evidence import CHECK_FAMILIES, RUN_RECORD_KEY, RunRecord
from conformance.harness import Run
from conformance.loopback import LoopbackServer
from conformance.targets import DEFAULT_MATRIX, ProviderEntry, ProviderSelectionError, resolve_provider
from conformance.wires import ERROR_KINDS, WireFamily, get_wire

__all__ = ["Cell", "SuiteSettings", "SETTINGS_KEY"]

REPLAY_ROOT = "http://replay.invalid"
REPLAY_MODEL_ID = "smollm2"


@dataclass(frozen=True)
class Cell:
    """One matrix cell: a provider, a case, and the cassette variant (replay) or server (live)."""

    provider: str
    case: str | None
    variant: str  # cassette variant ("vllm", "written", ...) in replay; server kind in live
    skip_reason: str | None = None

    @property
    def id(self) -> str:
        return "-".join(part for part in (self.provider, self.case, self.variant) if part)


@dataclass
class LiveServer:
    kind: str  # "vllm", "llamacpp" or "generic"
    root: str
    model_id: str
    version: str = "unknown"


@dataclass
class SuiteSettings:
    providers: list[ProviderEntry]
    # provider name -> the wire family its cassettes (or live requests) use: its own, or --conformance-wire.
    wires: dict[str, WireFamily]
    live: bool
    record: bool
    base_url: str | None
    model_id: str | None
    api_key: str
    # True when --conformance-provider named them: a --conformance-base-url run then tries each, whatever its wire.
    chosen: bool = False
    probed: LiveServer | None = None
    recorded: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    cassette_cache: dict[str, Cassette] = field(default_factory=dict)

    def wire_for(self, provider: str) -> WireFamily:
        return self.wires[provider]


SETTINGS_KEY = pytest.StashKey[SuiteSettings]()
RUN_KEY = pytest.StashKey[Run]()


# Warnings that third-party SDKs raise on every use and that no provider code can act on, each named
# exactly (message, category, issuing module), so that any other warning still shows.
THIRD_PARTY_WARNINGS = (
    # litellm reads pydantic's deprecated per-instance model_fields/model_computed_fields in every response.
    "ignore:Accessing the 'model_:pydantic.warnings.PydanticDeprecatedSince211:litellm",
    # litellm's openai types declare a ReadOnly TypedDict item, which pydantic warns about once per schema.
    "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem':UserWarning",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)
    option = config.option
    try:
        providers = [resolve_provider(spec) for spec in dict.fromkeys(option.conformance_provider or DEFAULT_MATRIX)]
    except ProviderSelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        wires = {entry.name: get_wire(option.conformance_wire or entry.wire) for entry in providers}
    except KeyError as exc:
        raise pytest.UsageError(f"--conformance-wire: {exc.args[0]}") from None
    live, base_url, model_id = option.conformance_live, option.conformance_base_url, option.conformance_model_id
    if option.conformance_record and not live:
        raise pytest.UsageError("--conformance-record refreshes cassettes from a live server: add --conformance-live")
    if (base_url or model_id) and not live:
        raise pytest.UsageError("--conformance-base-url/--conformance-model-id only apply with --conformance-live")
    if base_url and not model_id:
        raise pytest.UsageError(
            "--conformance-live --conformance-base-url needs --conformance-model-id (the model id the server serves)")
    config.stash[SETTINGS_KEY] = SuiteSettings(
        providers=providers, wires=wires, live=live, record=option.conformance_record, base_url=base_url,
        model_id=model_id, api_key=live_api_key(config), chosen=bool(option.conformance_provider),
    )
    for entry in providers:
        if ":" in entry.name:  # the reference providers are the suite's own, checked by its tests
            wire = wires[entry.name]
            check_factory(entry, wire.api_base(base_url or REPLAY_ROOT), model_id or REPLAY_MODEL_ID, live_api_key(config))


FACTORY_CONTRACT = (
    "The contract: factory(*, base_url: str, model_id: str, api_key: str, **config) -> strands.models.Model, "
    "called with keyword arguments, making no network call; config holds request parameters as params={...}."
)


def check_factory(entry: ProviderEntry, base_url: str, model_id: str, api_key: str) -> None:
    """Build the provider once before any test, so a broken factory is one message, not a failure per check."""
    problem = _factory_problem(entry, {"base_url": base_url, "model_id": model_id, "api_key": api_key})
    if problem is not None:
        raise pytest.UsageError(
            f"--conformance-provider {entry.name}: the factory is broken: {problem}.\n{FACTORY_CONTRACT}")


def _factory_problem(entry: ProviderEntry, arguments: dict[str, str]) -> str | None:
    try:
        signature: inspect.Signature | None = inspect.signature(entry.factory)
    except (TypeError, ValueError):  # no introspectable signature: calling it is the only test
        signature = None
    if signature is not None:
        try:
            signature.bind(**arguments)
        except TypeError as exc:
            return f"its signature {signature} does not take {', '.join(arguments)} as keywords ({exc})"
    try:
        model = entry.build(**arguments)
    except Exception as exc:  # the factory is third-party code: whatever it raises is the finding
        return f"calling it with {', '.join(arguments)} raised {type(exc).__name__}: {exc}"
    if not isinstance(model, Model):
        return f"it returned {type(model).__module__}.{type(model).__qualname__}, not a strands.models.Model"
    return None


def live_api_key(config: pytest.Config) -> str:
    """The option, else $CONFORMANCE_API_KEY, else the placeholder the local servers accept."""
    return config.option.conformance_api_key or os.environ.get("CONFORMANCE_API_KEY", "EMPTY")


def pytest_sessionstart(session: pytest.Session) -> None:
    settings = session.config.stash.get(SETTINGS_KEY, None)
    if settings is None or not settings.live or not settings.base_url:
        return
    # One probe, so an unreachable server is one clear failure instead of one per check.
    settings.probed = probe_server(settings.base_url, settings.model_id or "", settings.wire_for(settings.providers[0].name))


def probe_server(root: str, model_id: str, wire: WireFamily) -> LiveServer:
    root = root.rstrip("/")
    if root.endswith(wire.api_prefix):
        root = root[: -len(wire.api_prefix)]
    models_url = wire.api_base(root) + "/models"
    try:
        response = httpx.get(models_url, timeout=5.0)
    except httpx.HTTPError as exc:
        pytest.exit(
            f"--conformance-live: the server at {root} is unreachable (GET {models_url}: {type(exc).__name__}: {exc}). "
            "Start it, fix --conformance-base-url, or drop it to start the local llama.cpp/vLLM servers.",
            returncode=4,
        )
    if response.status_code >= 400:
        pytest.exit(f"--conformance-live: GET {models_url} answered HTTP {response.status_code}: {response.text[:200]}", returncode=4)
    owners = {str(item.get("owned_by", "")) for item in response.json().get("data", [])}
    kind = "vllm" if "vllm" in owners else "llamacpp" if "llamacpp" in owners else "generic"
    return LiveServer(kind, root, model_id, server_version(root, kind))


def server_version(root: str, kind: str) -> str:
    """Best effort, for the `source` of recorded cassettes."""
    try:
        if kind == "vllm":
            return "vllm " + str(httpx.get(f"{root}/version", timeout=3.0).json().get("version", "unknown"))
        if kind == "llamacpp":
            props = httpx.get(f"{root}/props", timeout=3.0).json()
            return "llama.cpp " + str(props.get("build_info") or props.get("version") or "unknown")
    except (httpx.HTTPError, ValueError):
        pass
    return f"{kind} unknown"


def _cells_for(metafunc: pytest.Metafunc, settings: SuiteSettings) -> list[Any]:
    marker = metafunc.definition.get_closest_marker("cases")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} uses the conformance_run fixture without @pytest.mark.cases")
    params = []
    for provider in settings.providers:
        names: list[str | None]
        wire = settings.wire_for(provider.name)
        names = [name for arg in marker.args for name in _case_names(arg, wire)] if marker.args else [None]
        for name in names:
            for cell in _variants(provider, name, settings):
                marks = [pytest.mark.skip(reason=cell.skip_reason)] if cell.skip_reason else []
                params.append(pytest.param(cell, id=cell.id, marks=marks))
    return params


def _case_names(arg: str, wire: WireFamily) -> list[str]:
    """A case named by `@pytest.mark.cases`, or the cases a wire's own table names for it."""
    if arg == "stop_reasons":
        return list(wire.stop_reasons)
    if arg.startswith("errors:"):
        kind = arg.removeprefix("errors:")
        if kind not in ERROR_KINDS:
            raise pytest.UsageError(f"@pytest.mark.cases({arg!r}): the error kinds are {', '.join(ERROR_KINDS)}")
        return [case for case, case_kind in wire.errors.items() if case_kind == kind]
    return [arg]


def _variants(provider: ProviderEntry, name: str | None, settings: SuiteSettings) -> list[Cell]:
    if name is None:
        # Case-less checks (configuration) need no server: they run offline in every mode.
        return [Cell(provider.name, None, "offline")]
    case = get_case(name)
    wire = settings.wire_for(provider.name)
    reason = wire.cannot_express(name, case.cassette_case)
    if reason is not None:
        return [Cell(provider.name, name, "unsupported", f"wire {wire.name} cannot express this: {reason}")]
    if not settings.live:
        variants = wire.variants(case.cassette_case)
        # No cassette is a failing cell (the check says what to record or write), never a missing row.
        return [Cell(provider.name, name, variant) for variant in variants] or [Cell(provider.name, name, "missing")]
    if settings.probed and not provider.server_kinds and not settings.chosen:
        return [Cell(provider.name, name, settings.probed.kind,
                     f"not run live: no local server speaks wire {wire.name}; name --conformance-provider "
                     f"{provider.name} to run it against --conformance-base-url")]
    servers = [settings.probed.kind] if settings.probed else [kind for kind in SERVER_KINDS if kind in provider.server_kinds]
    cells = []
    for server in servers:
        live_ok = server in case.live or (server == "generic" and case.live)
        limit = wire.live_limits.get(server, {}).get(name)
        reason = None if live_ok and limit is None else f"not run live on {server}: {limit or case.not_live_reason}"
        cells.append(Cell(provider.name, name, server, reason))
    return cells


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_cell" not in metafunc.fixturenames:
        return
    settings = metafunc.config.stash[SETTINGS_KEY]
    metafunc.parametrize("conformance_cell", _cells_for(metafunc, settings))


def _family(item: pytest.Item) -> str:
    marker = item.get_closest_marker("family")
    family = marker.args[0] if marker else None
    if family not in CHECK_FAMILIES:
        raise pytest.UsageError(f"{item.nodeid}: family {family!r} is not one of {', '.join(CHECK_FAMILIES)}")
    return family


@pytest.fixture
def conformance_run(request: pytest.FixtureRequest, conformance_cell: Cell) -> Iterator[Run]:
    """The provider under test, wired to the cassette (replay) or the live server of this cell."""
    settings: SuiteSettings = request.config.stash[SETTINGS_KEY]
    item = request.node
    provider = next(entry for entry in settings.providers if entry.name == conformance_cell.provider)
    case = get_case(conformance_cell.case) if conformance_cell.case else None
    wire = settings.wire_for(provider.name)
    doc = (request.function.__doc__ or "").strip()
    record = RunRecord(
        provider=provider.name,
        wire=wire.name,
        family=_family(item),
        check=item.name,
        title=(doc.splitlines()[0] if doc else request.function.__name__) + (f": {case.title}" if case else ""),
        description=doc,
        mode="live" if settings.live and case is not None else "replay",
    )
    item.stash[RUN_RECORD_KEY] = record
    if settings.live and case is not None:
        server = _live_server(request, settings, conformance_cell.variant)
        run = Run.for_live(provider, case, wire, server.kind, server.root, server.model_id,
                       settings.api_key, record)
        run.server_version = server.version
    else:
        cassette = None
        if case is not None:
            path = wire.cassette_path(case.cassette_case, conformance_cell.variant)
            if conformance_cell.variant == "missing":
                pytest.fail(
                    f"no cassette for case {case.cassette_case!r} in {wire.cassette_dir}: record one "
                    f"(pytest conformance --conformance-live --conformance-record) or write {case.cassette_case}.written.json"
                )
            cassette = _load(settings, path)
            record.cassette = cassette.name
        loopback = request.getfixturevalue("conformance_loopback") if provider.transport == "sockets" else None
        run = Run.for_replay(provider, case, wire, conformance_cell.variant, cassette,
                         f"{REPLAY_ROOT}", REPLAY_MODEL_ID, record, loopback)
    item.stash[RUN_KEY] = run
    with run:
        yield run


@pytest.fixture(scope="session")
def conformance_loopback() -> Iterator[LoopbackServer]:
    """The session's loopback replay server (127.0.0.1), started only when a non-httpx provider replays."""
    with LoopbackServer() as server:
        yield server


def _load(settings: SuiteSettings, path: Any) -> Cassette:
    key = str(path)
    if key not in settings.cassette_cache:
        try:
            settings.cassette_cache[key] = load_cassette(path)
        except CassetteError as exc:
            pytest.fail(str(exc))
    return settings.cassette_cache[key]


def _live_server(request: pytest.FixtureRequest, settings: SuiteSettings, kind: str) -> LiveServer:
    if settings.probed is not None:
        return settings.probed
    servers: dict[str, LiveServer] = request.config.stash.setdefault(_LIVE_SERVERS_KEY, {})
    if kind not in servers:
        try:
            running = request.getfixturevalue(f"conformance_{kind}_server")  # conformance.servers' session fixture
        except Exception as exc:  # one clear stop, not the same start failure once per check
            pytest.exit(
                f"--conformance-live: the local {kind} server could not be provisioned or started: {type(exc).__name__}: {exc}\n"
                f"See `python -m conformance.servers logs {kind}`, or pass --conformance-base-url/--conformance-model-id for a running server.",
                returncode=4,
            )
        servers[kind] = LiveServer(kind, running.base_url, running.model_id, server_version(running.base_url, kind))
    return servers[kind]


_LIVE_SERVERS_KEY = pytest.StashKey[dict[str, LiveServer]]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    run = item.stash.get(RUN_KEY, None)
    if run is None:
        return
    run.sync_record()  # the report plugins read the record when the call's report is made, before teardown
    if outcome.excinfo and issubclass(outcome.excinfo[0], (pytest.skip.Exception, pytest.xfail.Exception)):
        return
    problems = run.replay_problems()
    if problems:
        # A cassette that was not played as recorded explains any other failure, so it goes first.
        cause = outcome.excinfo[1] if outcome.excinfo else None
        error = AssertionError("\n".join(problems))
        error.__cause__ = cause
        outcome.force_exception(error)
        return
    settings = item.config.stash[SETTINGS_KEY]
    if settings.record and outcome.excinfo is None:
        result = run.write_recording()
        if result.startswith("wrote"):
            settings.recorded.append(result)
        elif result:
            settings.refused.append(result)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or not settings.record:
        return
    terminalreporter.section("conformance recordings")
    for line in settings.recorded:
        terminalreporter.write_line(line)
    for line in settings.refused:
        terminalreporter.write_line(f"NOT written: {line}")
    if not settings.recorded and not settings.refused:
        terminalreporter.write_line("no cassette written: no recordable case passed live")

"""pytest plugin of the conformance suite (options and fixtures); loaded through the pytest11 entry point.

It turns the command line into a matrix: every check that takes the `conformance_run` fixture and
declares its cases (`@pytest.mark.cases(...)`) and family (`pytest.mark.family(...)`) becomes one
test per provider x case x cassette (replay) or x live server (`--live`), ids like
`test_tool_call[neuron-tool_parallel-written]`. The `conformance_run` fixture hands the check a `Run`
(the provider built against the replay or the live server), fills the `RunRecord` the report
plugins read, fails a check whose cassette was not fully played or met a request it does not hold,
and in `--record` mode writes the cassette of a passing live run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.cases import SERVER_KINDS, get_case
from conformance.cassette import Cassette, CassetteError, load_cassette
from conformance.evidence import CHECK_FAMILIES, RUN_RECORD_KEY, RunRecord
from conformance.harness import Run
from conformance.loopback import LoopbackServer
from conformance.targets import DEFAULT_MATRIX, REFERENCE_PROVIDERS, ProviderEntry, ProviderSelectionError, resolve_provider
from conformance.wires import ERROR_KINDS, WireFamily, get_wire, known_wires

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
    # provider name -> the wire family its cassettes (or live requests) use: its own, or --wire.
    wires: dict[str, WireFamily]
    live: bool
    record: bool
    base_url: str | None
    model_id: str | None
    api_key: str
    # True when --provider named them: a --base-url run then tries each, whatever its wire.
    chosen: bool = False
    probed: LiveServer | None = None
    recorded: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    cassette_cache: dict[str, Cassette] = field(default_factory=dict)

    def wire_for(self, provider: str) -> WireFamily:
        return self.wires[provider]


SETTINGS_KEY = pytest.StashKey[SuiteSettings]()
RUN_KEY = pytest.StashKey[Run]()


def _reference_names() -> list[str]:
    """The default matrix first, then the providers named only on request (upstream-*)."""
    return [*DEFAULT_MATRIX, *(name for name in REFERENCE_PROVIDERS if name not in DEFAULT_MATRIX)]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Strands provider conformance suite")
    group.addoption(
        "--provider", action="append", default=None, metavar="NAME|package.module:factory",
        help=f"provider to certify (repeatable): a reference name ({', '.join(_reference_names())}) or a factory; "
        "default: every reference provider, each on its own wire, as one matrix",
    )
    group.addoption("--wire", default=None,
                    help="wire family whose cassettes replay, for every selected provider (default: each reference "
                    f"provider's own wire, openai-chat for a factory; known: {', '.join(known_wires())})")
    group.addoption("--live", action="store_true", help="run against a real server instead of cassettes")
    group.addoption("--base-url", default=None, help="with --live: the server root (e.g. http://127.0.0.1:8080); "
                    "without it the local llama.cpp/vLLM servers are started")
    group.addoption("--model-id", default=None, help="with --live --base-url: the served model id")
    group.addoption("--api-key", default=os.environ.get("CONFORMANCE_API_KEY", "EMPTY"),
                    help="with --live: API key sent to the server (default $CONFORMANCE_API_KEY or EMPTY); never recorded")
    group.addoption("--record", action="store_true", help="with --live: rewrite the cassettes of passing live runs")
    # The chunk-boundary family's budget: a few Hypothesis examples per cell in CI, more on request.
    group.addoption("--conformance-examples", type=int, default=3, metavar="N",
                    help="chunk-boundary check: Hypothesis examples per matrix cell, besides every-byte and "
                    "one-chunk cuts (default 3; derandomized, so a run is reproducible)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cases(*names): the conformance cases a check runs ('stop_reasons': the "
                            "wire's stop-reason table; 'errors:<kind>': the wire's own error cases of that kind)")
    config.addinivalue_line("markers", f"family(name): the check family, one of {', '.join(CHECK_FAMILIES)}")
    option = config.option
    if not hasattr(option, "wire"):  # plugin loaded without its options (e.g. -p no:...)
        return
    try:
        providers = [resolve_provider(spec) for spec in dict.fromkeys(option.provider or DEFAULT_MATRIX)]
    except ProviderSelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        wires = {entry.name: get_wire(option.wire or entry.wire) for entry in providers}
    except KeyError as exc:
        raise pytest.UsageError(f"--wire: {exc.args[0]}") from None
    if option.record and not option.live:
        raise pytest.UsageError("--record refreshes cassettes from a live server: add --live")
    if (option.base_url or option.model_id) and not option.live:
        raise pytest.UsageError("--base-url/--model-id only apply with --live")
    if option.base_url and not option.model_id:
        raise pytest.UsageError("--live --base-url needs --model-id (the model id the server serves)")
    config.stash[SETTINGS_KEY] = SuiteSettings(
        providers=providers, wires=wires, live=option.live, record=option.record,
        base_url=option.base_url, model_id=option.model_id, api_key=option.api_key, chosen=bool(option.provider),
    )


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
            f"--live: the server at {root} is unreachable (GET {models_url}: {type(exc).__name__}: {exc}). "
            "Start it, fix --base-url, or drop --base-url to start the local llama.cpp/vLLM servers.",
            returncode=4,
        )
    if response.status_code >= 400:
        pytest.exit(f"--live: GET {models_url} answered HTTP {response.status_code}: {response.text[:200]}", returncode=4)
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
                     f"not run live: no local server speaks wire {wire.name}; name --provider {provider.name} "
                     "to run it against --base-url")]
    servers = [settings.probed.kind] if settings.probed else [kind for kind in SERVER_KINDS if kind in provider.server_kinds]
    cells = []
    for server in servers:
        live_ok = server in case.live or (server == "generic" and case.live)
        reason = None if live_ok else f"not run live on {server}: {case.not_live_reason}"
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
                    f"(pytest conformance --live --record) or write {case.cassette_case}.written.json"
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
                f"--live: the local {kind} server could not be provisioned or started: {type(exc).__name__}: {exc}\n"
                f"See `python -m conformance.servers logs {kind}`, or pass --base-url/--model-id for a running server.",
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

"""What differs per provider: configuration, request shaping, quirks, structured output, and a real Agent run."""

from __future__ import annotations

import httpx
import pydantic
import pytest
import respx
from strands import Agent, tool

from .chat_server import CHAT_PROVIDERS, serve
from .wire import (
    BASE, USER, chunk, collect, make_models, request_json, sse, stream_response, text_answer, tool_delta,
    usage_chunk,
)
from providers import LlamaCppModel, NeuronModel, OpenAIModel, VLLMModel
from providers.errors import ProviderConnectionError, SingleToolCallOnlyError, StructuredOutputError

TOOL_SPEC = {"name": "weather", "description": "Weather", "inputSchema": {"json": {"type": "object"}}}
OTHER_SPEC = {"name": "clock", "description": "Time", "inputSchema": {"json": {"type": "object"}}}




# -- configuration API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
def test_update_config_rejects_unknown_keys_listing_valid_ones(name):
    model = make_models()[name]
    with pytest.raises(ValueError, match=r"no configuration key\(s\) \['temprature'\]; valid keys: .*model_id"):
        model.update_config(temprature=0.2)


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
def test_get_config_returns_a_copy_and_update_config_applies(name):
    model = make_models()[name]
    config = model.get_config()
    assert config["model_id"] == "smollm2"
    config["model_id"] = "changed"
    assert model.get_config()["model_id"] == "smollm2"
    model.update_config(model_id="other")
    assert model.get_config()["model_id"] == "other"


async def test_updated_params_reach_the_request(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    model = make_models()["vllm"]
    model.update_config(params={"temperature": 0.1, "max_tokens": 9})
    await collect(model)
    body = request_json(route)
    assert body["temperature"] == 0.1 and body["max_tokens"] == 9


def test_streaming_cannot_be_turned_off():
    model = VLLMModel(base_url=f"{BASE}/v1", model_id="m", params={"stream": False})
    with pytest.raises(ValueError, match="only stream"):
        model.format_request(USER)


def test_several_choices_are_refused():
    model = VLLMModel(base_url=f"{BASE}/v1", model_id="m", params={"n": 2})
    with pytest.raises(ValueError, match="n=2"):
        model.format_request(USER)


# -- Neuron --------------------------------------------------------------------------------------------


def test_neuron_constructor_makes_no_network_call():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        NeuronModel(model_id="m")  # the default base_url, where nothing listens
        assert router.calls.call_count == 0


async def test_neuron_sampling_keys_and_additional_args_in_body(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    model = NeuronModel(model_id="m", base_url=f"{BASE}/v1", temperature=0.3, top_p=0.9, max_completion_tokens=64,
                        stop=["\n"], frequency_penalty=0.1, presence_penalty=0.2,
                        additional_args={"seed": 7, "top_p": 0.5})
    await collect(model)
    body = request_json(route)
    assert body["temperature"] == 0.3 and body["max_completion_tokens"] == 64 and body["stop"] == ["\n"]
    assert body["frequency_penalty"] == 0.1 and body["presence_penalty"] == 0.2
    assert body["seed"] == 7 and body["top_p"] == 0.5  # additional_args win


@pytest.mark.parametrize(("supported", "expected"), [(False, None), (True, "auto")])
async def test_neuron_auto_tool_choice_only_when_supported(mock, supported, expected):
    route = serve(mock, stream_response(text_answer("ok")))
    model = NeuronModel(model_id="m", base_url=f"{BASE}/v1", support_tool_choice_auto=supported)
    await collect(model, tool_specs=[TOOL_SPEC], tool_choice={"auto": {}})
    assert request_json(route).get("tool_choice") == expected


SINGLE_CALL = {"object": "error", "code": 400, "type": "BadRequestError",
               "message": "This model only supports single tool-calls at once!"}


async def test_neuron_single_tool_call_error_before_the_stream(mock):
    serve(mock, httpx.Response(400, json=SINGLE_CALL))
    with pytest.raises(SingleToolCallOnlyError, match="parallel_tool_calls") as raised:
        await collect(make_models()["neuron"], tool_specs=[TOOL_SPEC])
    assert raised.value.status == 400


async def test_neuron_single_tool_call_error_inside_the_stream(mock):
    serve(mock, stream_response(sse({"error": SINGLE_CALL}, done=False)))
    with pytest.raises(SingleToolCallOnlyError, match="Workarounds"):
        await collect(make_models()["neuron"], tool_specs=[TOOL_SPEC])


# -- vLLM ----------------------------------------------------------------------------------------------


async def test_vllm_token_ids_in_additional_model_response_fields(mock):
    route = serve(mock, stream_response(sse(
        chunk({"role": "assistant", "content": ""}, prompt_token_ids=[1, 2, 3]),
        chunk({"content": "Hi"}, choice_extra={"token_ids": [10]}),
        chunk({"content": " there"}, choice_extra={"token_ids": [11, 12]}),
        chunk({}, "stop", choice_extra={"token_ids": [2]}),
        usage_chunk())))
    model = VLLMModel(base_url=f"{BASE}/v1", model_id="m", return_token_ids=True)
    events = await collect(model)
    assert request_json(route)["return_token_ids"] is True
    assert events[-2] == {"messageStop": {"stopReason": "end_turn", "additionalModelResponseFields": {
        "prompt_token_ids": [1, 2, 3], "token_ids": [10, 11, 12, 2]}}}


async def test_vllm_without_token_ids_adds_no_fields(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    events = await collect(make_models()["vllm"])
    assert "return_token_ids" not in request_json(route)
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}


async def test_vllm_disable_tools_sends_no_tools(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    model = VLLMModel(base_url=f"{BASE}/v1", model_id="m", disable_tools=True)
    await collect(model, tool_specs=[TOOL_SPEC], tool_choice={"any": {}})
    body = request_json(route)
    assert "tools" not in body and "tool_choice" not in body


def test_vllm_needs_a_model_id():
    with pytest.raises(ValueError, match="model_id"):
        VLLMModel(base_url=f"{BASE}/v1")


# -- llama.cpp -----------------------------------------------------------------------------------------


async def test_llamacpp_native_params_go_in_the_body(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    params = {"grammar": 'root ::= "yes"', "cache_prompt": True, "slot_id": 1, "n_probs": 2, "temperature": 0}
    await collect(LlamaCppModel(base_url=BASE, params=params))
    body = request_json(route)
    assert {key: body[key] for key in params} == params
    assert body["model"] == "default"


def test_llamacpp_base_url_with_v1_is_rejected():
    with pytest.raises(ValueError, match="ends in /v1"):
        LlamaCppModel(base_url=f"{BASE}/v1")


async def test_llamacpp_named_tool_choice_becomes_that_tool_required(mock):
    route = serve(mock, stream_response(text_answer("ok")))
    await collect(make_models()["llamacpp"], tool_specs=[TOOL_SPEC, OTHER_SPEC], tool_choice={"tool": {"name": "clock"}})
    body = request_json(route)
    assert [t["function"]["name"] for t in body["tools"]] == ["clock"]
    assert body["tool_choice"] == "required"


DROPPED = httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_a_reused_connection_closed_before_answering_is_sent_once_more(mock, name):
    route = serve(mock, stream_response(text_answer("first")), DROPPED, stream_response(text_answer("ok")))
    model = make_models()[name]
    await collect(model)
    events = await collect(model)
    assert route.call_count == 3
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_a_second_drop_is_the_servers_fault(mock, name):
    serve(mock, stream_response(text_answer("first")), DROPPED, DROPPED)
    model = make_models()[name]
    await collect(model)
    with pytest.raises(ProviderConnectionError, match="closed the connection before answering"):
        await collect(model)


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_a_first_request_is_never_resent(mock, name):
    # A new client has no pooled connection: a drop before the answer is the server's, not an idle race.
    route = serve(mock, DROPPED, stream_response(text_answer("ok")))
    with pytest.raises(ProviderConnectionError):
        await collect(make_models()[name])
    assert route.call_count == 1


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_pooled_connections_expire_before_common_servers_close_them(name):
    # llama.cpp, uvicorn (vLLM) and Node close an idle keep-alive connection 5 s after their last response.
    client = make_models()[name]._http_client()
    assert client._transport._pool._keepalive_expiry <= 2.5


@pytest.mark.parametrize(("timeout", "read", "connect"), [(5, 5.0, 5.0), ((2, 30), 30.0, 2.0)])
def test_llamacpp_timeout_forms(timeout, read, connect):
    model = LlamaCppModel(base_url=BASE, timeout=timeout)
    assert model._timeout().read == read and model._timeout().connect == connect


# -- OpenAI ---------------------------------------------------------------------------------------------


def test_openai_rejects_unsupported_client_args():
    with pytest.raises(ValueError, match=r"does not support client_args \['http_client', 'max_retries'\]; supported:"):
        OpenAIModel(client_args={"api_key": "k", "max_retries": 3, "http_client": object()}, model_id="m")


async def test_openai_default_base_url_and_headers(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with respx.mock(assert_all_called=True) as router:
        route = router.post("https://api.openai.com/v1/chat/completions").mock(
            return_value=stream_response(text_answer("ok")))
        model = OpenAIModel(client_args={"api_key": "sk-1", "organization": "org-1", "project": "p-1",
                                         "default_headers": {"X-Trace": "t"}}, model_id="gpt-4o-mini")
        await collect(model)
    headers = route.calls[0].request.headers
    assert headers["authorization"] == "Bearer sk-1"
    assert headers["openai-organization"] == "org-1" and headers["openai-project"] == "p-1"
    assert headers["x-trace"] == "t"


# -- structured output ----------------------------------------------------------------------------------


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_structured_output_native_json_schema(mock, name):
    route = serve(mock, stream_response(text_answer('{"name": "Oslo", ', '"population": 700000}')))
    events = [e async for e in make_models()[name].structured_output(City, USER)]
    assert events[-1] == {"output": City(name="Oslo", population=700000)}
    body = request_json(route)
    if name == "llamacpp":
        assert body["json_schema"] == City.model_json_schema()
    else:
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "City", "schema": City.model_json_schema()}}


@pytest.mark.parametrize("answer", ['{"name": "Oslo"}', "Oslo has 700k people", ""])
async def test_structured_output_invalid_answer_raises(mock, answer):
    serve(mock, stream_response(text_answer(answer) if answer else sse(chunk({}, "stop"), usage_chunk())))
    with pytest.raises(StructuredOutputError, match="not valid City JSON"):
        async for _ in make_models()["vllm"].structured_output(City, USER):
            pass


async def test_structured_output_cut_off_raises(mock):
    serve(mock, stream_response(text_answer('{"name": "Os', finish="length")))
    with pytest.raises(StructuredOutputError, match="cut off"):
        async for _ in make_models()["vllm"].structured_output(City, USER):
            pass


# -- a real Agent with a real tool ----------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAT_PROVIDERS)
async def test_agent_runs_a_real_tool_and_answers(mock, name):
    seen: list[str] = []

    @tool
    def weather(city: str) -> str:
        """Current weather for a city.

        Args:
            city: The city name.
        """
        seen.append(city)
        return f"18C and sunny in {city}"

    route = serve(
        mock,
        stream_response(sse(
            chunk({"role": "assistant", "content": ""}),
            tool_delta(0, id="call_w1", name="weather", arguments=""),
            tool_delta(0, arguments='{"city": '), tool_delta(0, arguments='"Paris"}'),
            chunk({}, "tool_calls"), usage_chunk(20, 9))),
        stream_response(text_answer("It is 18C ", "and sunny.")),
    )
    agent = Agent(model=make_models()[name], tools=[weather], callback_handler=None)
    result = await agent.invoke_async("Weather in Paris?")
    assert seen == ["Paris"]
    assert str(result).strip() == "It is 18C and sunny."
    assert result.stop_reason == "end_turn"
    second = request_json(route, 1)["messages"]
    assert second[-2]["tool_calls"][0]["id"] == "call_w1"
    assert second[-1] == {"role": "tool", "tool_call_id": "call_w1", "content": "18C and sunny in Paris"}
    assert result.metrics.accumulated_usage["inputTokens"] == 25


def test_sync_agent_calls_each_on_their_own_event_loop(mock):
    # Agent.__call__ runs each invocation on a fresh event loop: the pooled client must follow.
    serve(mock, stream_response(text_answer("one")), stream_response(text_answer("two")))
    model = make_models()["vllm"]
    agent = Agent(model=model, callback_handler=None)
    assert str(agent("first")).strip() == "one"
    first_client = model._client
    assert str(agent("second")).strip() == "two"
    assert model._client is not first_client

"""The hermes-style ChatML template we ship for vLLM renders tools, tool calls and tool results in
the shape vLLM's `hermes` parser and SmolLM2 expect, under HF's Jinja settings and plain ones."""

from __future__ import annotations

import json

import jinja2
import jinja2.sandbox
import pytest

from conformance.servers._vllm import chat_template_path

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
CONVERSATION = [
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            # vLLM hands arguments to the template as a dict; clients send a JSON string.
            {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        ],
    },
    {"role": "tool", "tool_call_id": "a", "content": "sunny"},
    {"role": "tool", "tool_call_id": "b", "content": "rain"},
    {"role": "assistant", "content": "Sunny in Paris, rain in Rome."},
]


def render(hf_settings: bool, **context: object) -> str:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=hf_settings, lstrip_blocks=hf_settings)
    env.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env.from_string(chat_template_path().read_text()).render(**context)


@pytest.mark.parametrize("hf_settings", [True, False], ids=["hf-jinja-settings", "plain-jinja"])
def test_tools_calls_and_results_render_hermes_style(hf_settings: bool) -> None:
    prompt = render(hf_settings, messages=CONVERSATION, tools=TOOLS, add_generation_prompt=True)
    tools_block = prompt.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0]
    assert json.loads(tools_block) == TOOLS[0]["function"]
    assert prompt.count("<|im_start|>") == prompt.count("<|im_end|>") + 1  # the open generation prompt
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n'
    ) in prompt
    assert (
        "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response><|im_end|>\n"
    ) in prompt
    assert prompt.endswith("<|im_start|>assistant\nSunny in Paris, rain in Rome.<|im_end|>\n<|im_start|>assistant\n")


def test_without_tools_it_is_plain_chatml_with_the_given_system_prompt() -> None:
    prompt = render(True, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                    add_generation_prompt=True)
    assert prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"

"""Load tests of OpenAI-compatible LLM servers (vLLM, Neuron, llama.cpp) with Locust; README.md maps the folders."""

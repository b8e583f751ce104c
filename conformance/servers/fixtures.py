"""Session-scoped pytest fixtures that start the real llama.cpp and vLLM servers on demand."""

"""Answer generators: llama.cpp in-process, or an OpenAI-compatible server."""

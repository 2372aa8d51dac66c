"""`meow-chat serve`: an OpenAI-compatible HTTP API and a chat page for a MeowLLM model.

Needs the `serve` extra (starlette and uvicorn). `meow_chat.create_app` and `meow_chat.ServeConfig`
are the public entry points; the modules here are private.
"""

"""Export a MeowLLM model directory to the formats other tools load: Hugging Face and GGUF.

The public entry points are re-exported from `meow_model` (`export_hf`, `export_gguf`,
`ExportError`, `CHAT_TEMPLATE`); the modules here are private.
"""

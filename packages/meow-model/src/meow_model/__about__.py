"""Version of meow-model (semantic: the public API and the model directory format are versioned)."""

__version__ = "2.2.0"

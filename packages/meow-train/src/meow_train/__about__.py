"""Version of meow-train (semantic: the public API and the CLI are versioned)."""

__version__ = "3.4.1"

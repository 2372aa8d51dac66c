"""Version of meow-rules (semantic: the public API in __init__ is versioned)."""

__version__ = "1.2.0"

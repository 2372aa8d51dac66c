"""Version of meow-data (semantic: the public API in __init__ and the dataset format are versioned)."""

__version__ = "1.5.0"

"""Version of meow-chat (semantic: the CLI and the bundled model's interface are versioned)."""

__version__ = "2.2.0"

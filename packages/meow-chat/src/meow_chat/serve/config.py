"""Settings of a serving process, fixed at start-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeConfig:
    """How `create_app` serves one model.

    `workers` replies are generated at once (each in its own thread, sharing the read-only
    weights); up to `queue_size` more requests wait for a worker, and any beyond that are
    answered 503 with `Retry-After` at once instead of piling up.
    """

    model_name: str = "miso"
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    workers: int = 2
    queue_size: int = 64
    max_body_bytes: int = 64 * 1024
    max_prompt_chars: int = 4000
    max_choices: int = 8

    def __post_init__(self) -> None:
        if not self.model_name.strip():
            raise ValueError("model_name must not be empty")
        if self.api_key is not None and (
            not self.api_key.isascii()
            or not self.api_key.isprintable()
            or self.api_key != self.api_key.strip()
            or not self.api_key
        ):
            # HTTP headers carry ASCII; a key with spaces around it could never be matched
            raise ValueError(
                "api_key must be printable ASCII without leading or trailing spaces "
                "(leave it unset to serve without a key)"
            )
        for name in ("workers", "max_body_bytes", "max_prompt_chars", "max_choices"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.queue_size < 0:
            raise ValueError(f"queue_size must be at least 0, got {self.queue_size}")

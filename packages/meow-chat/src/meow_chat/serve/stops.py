"""Cut a streamed reply at the first stop sequence, holding back text that may be the start of one."""

from __future__ import annotations


class StopFilter:
    """Feed text pieces in order; get back the text that is safe to show.

    Text that could still turn into a stop sequence is held back until the next piece settles
    it, so a stop split across two pieces is never shown; `stopped` turns True at the first stop.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.stopped = False
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self._held = True, ""
            return text[: min(hits)]
        keep = max((self._partial(text, s) for s in self.stops), default=0)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """The held-back text, once the reply has ended without a stop."""
        held, self._held = self._held, ""
        return held

    @staticmethod
    def _partial(text: str, stop: str) -> int:
        """Length of the longest end of `text` that is a proper start of `stop`."""
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                return k
        return 0

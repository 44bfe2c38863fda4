"""A tiny client for scripted conversations over Rasa's REST channel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx


@dataclass
class Chat:
    base: str
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:10]}")
    transcript: list[tuple[str, str]] = field(default_factory=list)
    last: list[dict] = field(default_factory=list)

    def say(self, text: str) -> str:
        r = httpx.post(
            f"{self.base}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=60,
        )
        r.raise_for_status()
        self.last = r.json()
        reply = "\n".join(m.get("text", "") for m in self.last if m.get("text"))
        self.transcript += [("user", text), ("bot", reply)]
        return reply

    def cards(self) -> list[dict]:
        return next((m["custom"]["cards"] for m in self.last if "custom" in m), [])

    def tracker(self) -> dict:
        return httpx.get(f"{self.base}/conversations/{self.sender}/tracker", timeout=30).json()

    def dump(self) -> str:
        return "\n".join(f"{who:>4}: {text}" for who, text in self.transcript)

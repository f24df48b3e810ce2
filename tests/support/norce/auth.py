"""Norce's identity server: OAuth2 client credentials at the token endpoint (reference section 1)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.support.norce.answers import Answer

TOKEN_PATH = "/identity/1.0/connect/token"


@dataclass
class Tokens:
    """The one client the stand-in knows, and the bearer tokens it has handed out."""

    client_id: str
    client_secret: str
    scope: str
    lifetime: int
    live: set[str] = field(default_factory=set)  # tokens a request may still carry
    issued: list[str] = field(default_factory=list)  # every token, oldest first
    requests: int = 0

    def answer(self, headers: Mapping[str, str], body: bytes) -> Answer:
        """A token for the right client, form and scope; otherwise the OAuth2 error."""
        self.requests += 1
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Answer(400, {"error": "invalid_request", "error_description": "form expected"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        credentials = (form.get("client_id"), form.get("client_secret"))
        if credentials != (self.client_id, self.client_secret):
            return Answer(401, {"error": "invalid_client"})
        if form.get("scope") != self.scope:
            return Answer(400, {"error": "invalid_scope", "error_description": form.get("scope")})
        token = f"standin-{secrets.token_hex(12)}"
        self.live.add(token)
        self.issued.append(token)
        lifetime = self.lifetime
        return Answer(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

    def authorized(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries a bearer token handed out here and not expired."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.live

    def expire(self) -> None:
        """Forget every live token, as if they had all expired on Norce's side."""
        self.live.clear()

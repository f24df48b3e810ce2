"""Real alert channels on loopback: an HTTP webhook (http.server) and an SMTP relay (aiosmtpd).

The SMTP relay speaks STARTTLS with a certificate made for the test and refuses AUTH before
TLS and any login but the one it was given. Both record what they took; both can be told to
refuse (the webhook answers 500, the relay can be stopped) so a test sees a channel go down
and come back.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port


@dataclass
class Webhook:
    """What the loopback webhook took, and whether it answers 200 or 500."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    failing: bool = False
    posts: int = 0  # every POST that arrived, taken or refused


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    """An incoming webhook on 127.0.0.1 that records each JSON body posted to /hook/<secret>."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    hook = Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook/T0SECRET-B0SECRET")
    server.hook = hook  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        hook: Webhook = self.server.hook  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        hook.posts += 1
        if hook.failing or not self.path.startswith("/hook/"):
            self.send_response(500)
            self.end_headers()
            return
        hook.bodies.append(json.loads(body))
        hook.content_types.append(self.headers.get("content-type", ""))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Relay:
    """What the loopback SMTP relay took, and how to reach and log in to it."""

    port: int
    ca_file: Path
    username: str
    password: str
    messages: list[Message] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    controller: Controller | None = None

    def stop(self) -> None:
        """Stop listening: the channel is down."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _Keep:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.relay.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"


@contextmanager
def smtp_relay(tmp: Path) -> Iterator[Relay]:
    """An SMTP relay on 127.0.0.1: STARTTLS required before AUTH, one user and password."""
    cert, key = self_signed(tmp)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    relay = Relay(free_port(), cert, "alerts@example.test", "smtp-Pa55-word")

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            relay.username.encode(),
            relay.password.encode(),
        )
        relay.logins.append(f"{mechanism}:{'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535

    relay.controller = Controller(
        _Keep(relay),
        hostname="127.0.0.1",
        port=relay.port,
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    relay.controller.start()
    try:
        yield relay
    finally:
        relay.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost that is its own CA, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relay-cert.pem", folder / "relay-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path

"""Adviser notifications against real servers on 127.0.0.1: an SMTP server (aiosmtpd) that
requires STARTTLS with a self-signed certificate made here and a log-in, and a webhook receiver
(http.server) that dedups by Idempotency-Key, as a CRM should. The worker's own functions run
the outbox (knowledge/notifications.py); delays are shortened, nothing else is replaced."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from knowledge import notifications as nt
from knowledge.db import make_engine
from knowledge.intake import IntakeRecord

POLICY = nt.Policy(max_attempts=4, base_delay_s=0.05, max_delay_s=0.2, lease_s=0.5, timeout_s=5)
SECRET = "whsec-" + "k" * 26
TENANT = "demo-cc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (server context, client context)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


class Mailbox:
    """aiosmtpd handler: keeps messages; refuses recipients at ``refuse`` with 550."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture()
def smtp(cert):
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=cert[0],
        require_starttls=True,
        auth_require_tls=True,
        authenticator=_auth,
    )
    controller.start()
    yield box, port
    controller.stop()


class Receiver:
    """A helpdesk's webhook endpoint: answers the scripted statuses in turn (then 200), checks
    the signature, and stores each Idempotency-Key once."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.script: list[int] = []
        self.posts: list[tuple[str, dict]] = []
        self.delivered: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers.get(nt.SIGNATURE_HEADER, "")):
                    self.send_response(401)
                    self.end_headers()
                    return
                key = self.headers["Idempotency-Key"]
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.posts.append((key, json.loads(body)))
                    if status == 200:
                        receiver.delivered.setdefault(key, json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/stackwise"


@pytest.fixture()
def receiver():
    r = Receiver(free_port())
    yield r
    r.stop()


# --- the outbox under test --------------------------------------------------------------------


@pytest.fixture()
def app_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    nt.ensure_schema(engine)
    yield engine
    engine.dispose()


def config(smtp_port: int | None, hook_url: str | None) -> nt.NotifyConfig:
    env = {"STACKWISE_PUBLIC_URL": "https://advise.demo.edu"}
    if smtp_port:
        env |= {
            "STACKWISE_SMTP_URL": f"smtp+starttls://stackwise:s3cret@127.0.0.1:{smtp_port}",
            "STACKWISE_SMTP_FROM": "stackwise@demo.edu",
            "STACKWISE_TENANT_DEMO_CC_ADVISER_EMAILS": "advisers@demo.edu",
        }
    if hook_url:
        env |= {
            "STACKWISE_TENANT_DEMO_CC_WEBHOOK_URL": hook_url,
            "STACKWISE_TENANT_DEMO_CC_WEBHOOK_SECRET": SECRET,
        }
    return nt.NotifyConfig.from_env(env, policy=POLICY)


@pytest.fixture()
def make_deliverer(app_engine, cert):
    clients = []

    def make(cfg: nt.NotifyConfig) -> nt.Deliverer:
        http = httpx.Client(timeout=POLICY.timeout_s, follow_redirects=False)
        clients.append(http)
        return nt.Deliverer(app_engine, cfg, lambda _id: "Demo CC", http, tls_context=cert[1])

    yield make
    for c in clients:
        c.close()


def handoff(app_engine, channels, n: int = 1) -> list[str]:
    ids = []
    for i in range(n):
        record = IntakeRecord(
            sender_id=f"conv-{i}",
            reason="requested",
            skills=[{"label": "Excel", "skill_id": "microsoft-excel", "role": "has"}],
            goal="Data analyst",
            constraints={"budget": "300"},
            recommendations=[{"id": "google-data-analytics", "name": "Google Data Analytics"}],
            institution_id=TENANT,
            contact="email:jane.doe@gmail.com",
        )
        nt.save_handoff(app_engine, record, channels)
        ids.append(record.id)
    return ids


def drain(deliverer, worker="w", until: float = 10.0) -> dict[str, int]:
    """Run the worker until nothing is pending or sending (or ``until`` seconds pass)."""
    total: dict[str, int] = {}
    deadline = time.time() + until
    while time.time() < deadline:
        for k, v in nt.run_once(deliverer, worker).items():
            total[k] = total.get(k, 0) + v
        states = {r.state for r in nt.notifications(deliverer.app_engine)}
        if not states & {"pending", "sending"}:
            break
        time.sleep(0.05)
    return total


def states(app_engine) -> list[str]:
    return [r.state for r in nt.notifications(app_engine)]


# --- tests ------------------------------------------------------------------------------------


def test_email_over_starttls_with_login(app_engine, smtp, make_deliverer):
    box, port = smtp
    handoff(app_engine, ["email"])
    assert drain(make_deliverer(config(port, None)))["sent"] == 1
    (msg,) = box.messages
    (row,) = nt.notifications(app_engine)
    assert msg["Message-ID"] == f"<{row.id}@demo.edu>" and msg["To"] == "advisers@demo.edu"
    body = msg.get_payload(decode=True).decode()
    assert "Data analyst" in body and "jane.doe@gmail.com" in body
    assert f"https://advise.demo.edu/console/intakes/{row.intake_id}" in body


def test_smtp_refusal_is_recorded_with_a_clear_log_line(app_engine, smtp, make_deliverer, caplog):
    box, port = smtp
    box.refuse.add("advisers@demo.edu")
    handoff(app_engine, ["email"])
    with caplog.at_level("INFO", logger="knowledge.notifications"):
        drain(make_deliverer(config(port, None)))
    (row,) = nt.notifications(app_engine)
    assert row.state == "failed" and row.attempts == 1  # a 550 will not get better
    assert row.last_error == f"SMTP server 127.0.0.1:{port} refused the recipients ([550])"
    assert "failed for good after 1 attempt(s)" in caplog.text
    assert "Traceback" not in caplog.text and "jane.doe" not in caplog.text


def test_smtp_down_retries_then_gives_up(app_engine, make_deliverer, caplog):
    handoff(app_engine, ["email"])
    with caplog.at_level("WARNING", logger="knowledge.notifications"):
        drain(make_deliverer(config(free_port(), None)))
    (row,) = nt.notifications(app_engine)
    assert row.state == "failed" and row.attempts == POLICY.max_attempts
    assert "could not be reached (ConnectionRefusedError)" in row.last_error
    assert caplog.text.count("will retry") == POLICY.max_attempts - 1


def test_webhook_receiver_down_then_back_is_delivered_once(app_engine, receiver, make_deliverer):
    (intake_id,) = handoff(app_engine, ["webhook"])
    deliverer = make_deliverer(config(None, receiver.url))
    counts = nt.run_once(deliverer, "w")  # nobody listens yet
    assert counts["retry"] == 1 and states(app_engine) == ["pending"]
    receiver.start()
    drain(deliverer)
    (row,) = nt.notifications(app_engine)
    assert row.state == "sent" and row.attempts == 2
    assert list(receiver.delivered) == [row.id]
    data = receiver.delivered[row.id]
    assert data["intake"]["id"] == intake_id and data["learner"]["contact_email"]
    assert data["console_url"].endswith(f"/console/intakes/{intake_id}")


def test_webhook_500_then_429_then_200(app_engine, receiver, make_deliverer):
    receiver.script = [500, 429]
    receiver.start()
    handoff(app_engine, ["webhook"])
    drain(make_deliverer(config(None, receiver.url)))
    (row,) = nt.notifications(app_engine)
    assert row.state == "sent" and row.attempts == 3
    assert [k for k, _ in receiver.posts] == [row.id] * 3  # one key for every try
    assert len(receiver.delivered) == 1


def test_webhook_4xx_is_not_retried(app_engine, receiver, make_deliverer):
    receiver.script = [404]
    receiver.start()
    handoff(app_engine, ["webhook"])
    drain(make_deliverer(config(None, receiver.url)))
    (row,) = nt.notifications(app_engine)
    assert (row.state, row.attempts, row.last_error) == (
        "failed",
        1,
        "webhook at 127.0.0.1 answered HTTP 404",
    )


def test_crash_between_send_and_mark_resends_with_the_same_key(
    app_engine, receiver, smtp, make_deliverer
):
    box, port = smtp
    receiver.start()
    handoff(app_engine, ["webhook", "email"])
    deliverer = make_deliverer(config(port, receiver.url))
    for row in nt.claim(app_engine, "crashing", policy=POLICY):
        assert deliverer.send(row)  # sent... and the worker dies before mark_sent
    time.sleep(POLICY.lease_s + 0.1)
    drain(deliverer, "w2")
    assert states(app_engine) == ["sent", "sent"]
    keys = [k for k, _ in receiver.posts]
    assert len(keys) == 2 and len(set(keys)) == 1 and len(receiver.delivered) == 1
    ids = [m["Message-ID"] for m in box.messages]
    assert len(ids) == 2 and len(set(ids)) == 1  # the same mail; clients drop the duplicate


def test_two_workers_never_send_the_same_row(app_engine, receiver, make_deliverer):
    receiver.start()
    handoff(app_engine, ["webhook"], n=30)
    deliverers = [make_deliverer(config(None, receiver.url)) for _ in range(2)]
    threads = [
        threading.Thread(target=drain, args=(d, f"worker-{i}")) for i, d in enumerate(deliverers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert states(app_engine) == ["sent"] * 30
    keys = [k for k, _ in receiver.posts]
    assert len(keys) == 30 and len(set(keys)) == 30
    workers = {r.claimed_by for r in nt.notifications(app_engine)}
    assert workers <= {"worker-0", "worker-1"}


def _garbage_server(reply: bytes) -> tuple[int, socket.socket]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], srv


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"HELLO THIS IS NOT HTTP\r\n\r\n", "could not be reached (RemoteProtocolError)"),
        (b"", "could not be reached (RemoteProtocolError)"),
        (b"HTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\n\r\n", "answered HTTP 302"),
    ],
)
def test_malformed_webhook_responses_are_recorded(app_engine, make_deliverer, caplog, reply, error):
    port, srv = _garbage_server(reply)
    try:
        handoff(app_engine, ["webhook"])
        with caplog.at_level("WARNING", logger="knowledge.notifications"):
            drain(make_deliverer(config(None, f"http://127.0.0.1:{port}/hook")))
    finally:
        srv.close()
    (row,) = nt.notifications(app_engine)
    assert row.state == "failed" and error in row.last_error
    assert "Traceback" not in caplog.text

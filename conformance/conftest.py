"""Starts the release binary once per session from a kratos.yml, as a Kratos user would, and
its permissions service from a keto.yml with an OPL model, as a Keto user would."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import ory_keto_client as keto
import ory_kratos_client as ory
import pytest

OUT = Path(os.environ.get("GATEHOUSE_CONFORMANCE_OUT", Path(__file__).parent / "out"))

SCHEMA = {
    "$id": "https://example.org/identity.schema.json",
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Person",
    "type": "object",
    "properties": {
        "traits": {
            "type": "object",
            "properties": {
                "email": {
                    "type": "string",
                    "format": "email",
                    "title": "E-Mail",
                    "maxLength": 320,
                    "ory.sh/kratos": {
                        "credentials": {"password": {"identifier": True}},
                        "verification": {"via": "email"},
                        "recovery": {"via": "email"},
                    },
                },
                "name": {
                    "type": "object",
                    "properties": {
                        "first": {"type": "string", "title": "First name"},
                        "last": {"type": "string", "title": "Last name"},
                    },
                },
                "user_type": {
                    "type": "string",
                    "title": "Account type",
                    "enum": ["educator", "student"],
                },
            },
            "required": ["email", "user_type"],
            "additionalProperties": False,
        }
    },
}

# Ports come from SERVE_PUBLIC_PORT / SERVE_ADMIN_PORT (Kratos's environment overrides).
KRATOS_YML = """\
version: v1.3.0
dsn: sqlite://{dir}/kratos.db?mode=rwc
serve:
  public:
    base_url: {public}
    host: 127.0.0.1
  admin:
    base_url: {admin}
    host: 127.0.0.1
selfservice:
  default_browser_return_url: {public}ui/welcome
  allowed_return_urls:
    - {public}
  methods:
    password:
      enabled: true
  flows:
    registration:
      after:
        password:
          hooks:
            - hook: session
    verification:
      enabled: true
    recovery:
      enabled: true
    logout:
      after:
        default_browser_return_url: {public}ui/login
log:
  level: info
secrets:
  cookie:
    - conformance-cookie-secret-0123456789
  cipher:
    - 32-LONG-SECRET-NOT-SECURE-AT-ALL
hashers:
  algorithm: bcrypt
  bcrypt:
    cost: 4
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: file://{dir}/identity.schema.json
"""


@dataclass
class Server:
    public: str  # with a trailing slash
    admin: str
    out: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "health/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = os.environ.get("GATEHOUSE_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("GATEHOUSE_BIN must name the gatehouse binary (conformance/run.sh sets it)")
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_factory.mktemp("kratos")
    pport, aport = free_port(), free_port()
    public, admin = f"http://127.0.0.1:{pport}/", f"http://127.0.0.1:{aport}/"
    (tmp / "identity.schema.json").write_text(json.dumps(SCHEMA, indent=2))
    (tmp / "kratos.yml").write_text(KRATOS_YML.format(dir=tmp, public=public, admin=admin))
    env = dict(os.environ, SERVE_PUBLIC_PORT=str(pport), SERVE_ADMIN_PORT=str(aport))
    log_path = OUT / "server.log"
    with open(log_path, "wb") as log:
        # --dev: plain-HTTP cookies and bcrypt cost 4, as with `kratos serve --dev`.
        proc = subprocess.Popen(
            [binary, "identity", "serve", "-c", str(tmp / "kratos.yml"), "--dev"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp,
        )
    try:
        deadline = time.monotonic() + 30
        while not (ready(public) and ready(admin)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gatehouse did not become ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Server(public=public, admin=admin, out=OUT)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def sdk(url: str) -> ory.ApiClient:
    return ory.ApiClient(ory.Configuration(host=url.rstrip("/")))


@pytest.fixture(scope="session")
def frontend(server) -> ory.FrontendApi:
    return ory.FrontendApi(sdk(server.public))


@pytest.fixture(scope="session")
def admin_api(server) -> ory.IdentityApi:
    return ory.IdentityApi(sdk(server.admin))


@pytest.fixture(scope="session")
def metadata(server) -> ory.MetadataApi:
    return ory.MetadataApi(sdk(server.admin))


@pytest.fixture(scope="session")
def courier(server) -> ory.CourierApi:
    return ory.CourierApi(sdk(server.admin))


@pytest.fixture
def email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.org"


# --- permissions (Keto) -------------------------------------------------------------------

# The reference document/folder/group model, shared with the Rust tests and the benchmark.
KETO_MODEL = (pathlib.Path(__file__).resolve().parent.parent / "crates/permissions/tests/fixtures/documents.keto.ts").read_text()

KETO_YML = """\
version: v0.11.0
dsn: sqlite://{dir}/keto.db?mode=rwc
namespaces: {namespaces}
serve:
  read: {{host: 127.0.0.1, port: {read}}}
  write: {{host: 127.0.0.1, port: {write}}}
  opl: {{host: 127.0.0.1, port: {opl}}}
  metrics: {{host: 127.0.0.1, port: {metrics}}}
log:
  level: info
"""


@dataclass
class Keto:
    read: str  # without a trailing slash, as the Keto SDK's host
    write: str
    opl: str


def start_keto(tmp: Path, namespaces: str, log_name: str):
    """Runs `gatehouse permissions serve -c keto.yml` until the generator is closed."""
    binary = os.environ.get("GATEHOUSE_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("GATEHOUSE_BIN must name the gatehouse binary (conformance/run.sh sets it)")
    OUT.mkdir(parents=True, exist_ok=True)
    ports = {k: free_port() for k in ("read", "write", "opl", "metrics")}
    (tmp / "keto.yml").write_text(KETO_YML.format(dir=tmp, namespaces=namespaces, **ports))
    urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    # Keto's environment overrides (DSN, SERVE_READ_PORT, ...) must not redirect the file.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DSN", "NAMESPACES", "SERVE_", "LIMIT_"))}
    log_path = OUT / log_name
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "permissions", "serve", "-c", str(tmp / "keto.yml")],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp,
        )
    try:
        deadline = time.monotonic() + 30
        while not (ready(urls["read"] + "/") and ready(urls["write"] + "/")):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gatehouse permissions did not become ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Keto(read=urls["read"], write=urls["write"], opl=urls["opl"])
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def keto_server(tmp_path_factory):
    """The permissions service with the reference OPL model (namespaces.location)."""
    tmp = tmp_path_factory.mktemp("keto")
    (tmp / "namespaces.keto.ts").write_text(KETO_MODEL)
    yield from start_keto(tmp, f"{{location: file://{tmp}/namespaces.keto.ts}}", "keto.log")


@pytest.fixture(scope="session")
def keto_list_server(tmp_path_factory):
    """The permissions service with Keto's legacy namespace list (no rewrites)."""
    tmp = tmp_path_factory.mktemp("keto-list")
    yield from start_keto(tmp, "[{id: 0, name: app}]", "keto-list.log")


def keto_sdk(url: str) -> keto.ApiClient:
    return keto.ApiClient(keto.Configuration(host=url))


@pytest.fixture(scope="session")
def relationships_read(keto_server) -> keto.RelationshipApi:
    """List tuples and namespaces (the read port)."""
    return keto.RelationshipApi(keto_sdk(keto_server.read))


@pytest.fixture(scope="session")
def relationships_write(keto_server) -> keto.RelationshipApi:
    """Create, patch and delete tuples (the write port)."""
    return keto.RelationshipApi(keto_sdk(keto_server.write))


@pytest.fixture(scope="session")
def relationships_opl(keto_server) -> keto.RelationshipApi:
    """`check_opl_syntax` (the OPL port)."""
    return keto.RelationshipApi(keto_sdk(keto_server.opl))


@pytest.fixture(scope="session")
def permissions(keto_server) -> keto.PermissionApi:
    """Check, batch check and expand (the read port)."""
    return keto.PermissionApi(keto_sdk(keto_server.read))

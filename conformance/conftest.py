"""Starts the release binary once per session from a kratos.yml, as a Kratos user would."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

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

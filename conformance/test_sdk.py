"""The official Python SDK (ory-kratos-client) against gatehouse: every call goes through the
SDK's request building and its pydantic models, so a response shape Kratos clients cannot read
fails here."""

import json
import re
import uuid
from datetime import datetime, timezone

import bcrypt
import ory_kratos_client as ory
import pytest
import requests
from ory_kratos_client.exceptions import ApiException

PASSWORD = "correct horse battery staple"


def traits(email, user_type="student"):
    return {"email": email, "name": {"first": "Ada", "last": "Lovelace"}, "user_type": user_type}


def register(frontend, email, user_type="student", password=PASSWORD):
    flow = frontend.create_native_registration_flow()
    body = ory.UpdateRegistrationFlowBody(
        ory.UpdateRegistrationFlowWithPasswordMethod(
            method="password", password=password, traits=traits(email, user_type)
        )
    )
    return frontend.update_registration_flow(flow=flow.id, update_registration_flow_body=body)


def login_flow_id(frontend):
    return frontend.create_native_login_flow().id


def login(frontend, identifier, password=PASSWORD):
    body = ory.UpdateLoginFlowBody(
        ory.UpdateLoginFlowWithPasswordMethod(
            method="password", identifier=identifier, password=password
        )
    )
    return frontend.update_login_flow(flow=login_flow_id(frontend), update_login_flow_body=body)


def failing(call, status):
    """Runs `call`, which must fail with HTTP `status`; returns the exception."""
    with pytest.raises(ApiException) as e:
        call()
    assert e.value.status == status, e.value.body
    return e.value


def node(flow, name):
    for n in flow.ui.nodes:
        if getattr(n.attributes.actual_instance, "name", None) == name:
            return n
    raise AssertionError(f"no node {name!r} in {[n.attributes.actual_instance for n in flow.ui.nodes]}")


def link_next(link_header):
    m = re.search(r'<([^>]+)>;\s*rel="next"', link_header or "")
    return m and dict(re.findall(r"[?&]([^=&]+)=([^&]*)", m.group(1))).get("page_token")


# --- self-service: registration, login, whoami, logout -------------------------------------


def test_native_registration_whoami_sessions_and_logout(frontend, email):
    reg = register(frontend, email, "educator")
    assert isinstance(reg, ory.SuccessfulNativeRegistration)
    assert reg.session_token and reg.session.active
    assert reg.identity.traits == traits(email, "educator")
    assert reg.identity.schema_id == "default"
    assert reg.session.identity.id == reg.identity.id
    assert [m.method for m in reg.session.authentication_methods] == ["password"]

    me = frontend.to_session(x_session_token=reg.session_token)
    assert me.id == reg.session.id and me.identity.traits["email"] == email
    assert me.expires_at > datetime.now(timezone.utc)

    # A second session; /sessions lists the caller's *other* sessions.
    second = login(frontend, email)
    assert isinstance(second, ory.SuccessfulNativeLogin)
    assert second.session.identity.id == reg.identity.id
    assert second.session_token != reg.session_token
    others = frontend.list_my_sessions(x_session_token=second.session_token)
    assert [s.id for s in others] == [reg.session.id]

    out = frontend.perform_native_logout_with_http_info(
        ory.PerformNativeLogoutBody(session_token=reg.session_token)
    )
    assert out.status_code == 204
    e = failing(lambda: frontend.to_session(x_session_token=reg.session_token), 401)
    error = ory.ErrorGeneric.from_json(e.body).error
    assert (error.code, error.reason) == (401, "No valid session credentials found in the request.")
    assert frontend.to_session(x_session_token=second.session_token).id == second.session.id


def test_login_with_wrong_password_is_4000006(frontend, email):
    register(frontend, email)
    e = failing(lambda: login(frontend, email, "wrong password!"), 400)
    flow = json.loads(e.body)
    assert [(m["id"], m["type"]) for m in flow["ui"]["messages"]] == [(4000006, "error")]
    identifier = next(n for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "identifier")
    assert identifier["attributes"]["value"] == email


def test_login_flow_deserializes(frontend):
    flow = frontend.create_native_login_flow()
    got = frontend.get_login_flow(id=flow.id)
    assert (got.id, got.type) == (flow.id, "api")
    assert {"identifier", "password", "method"} <= {n.attributes.actual_instance.name for n in got.ui.nodes}
    assert got.expires_at > datetime.now(timezone.utc)


def test_registration_rejects_unknown_user_type_on_its_node(frontend, email):
    e = failing(lambda: register(frontend, email, user_type="admin"), 400)
    flow = ory.RegistrationFlow.from_json(e.body)
    messages = node(flow, "traits.user_type").messages
    assert [(m.id, m.type, m.text) for m in messages] == [
        (4000001, "error", 'value must be one of "educator", "student"')
    ]
    assert node(flow, "traits.email").attributes.actual_instance.value == email
    assert not node(flow, "traits.email").messages


def test_enum_error_context_is_kratos_reason(frontend, email):
    e = failing(lambda: register(frontend, email, user_type="admin"), 400)
    [message] = node(ory.RegistrationFlow.from_json(e.body), "traits.user_type").messages
    assert message.context == {"reason": message.text}


def test_duplicate_email_is_4000007(frontend, email):
    register(frontend, email)
    e = failing(lambda: register(frontend, email.upper()), 400)
    flow = ory.RegistrationFlow.from_json(e.body)
    assert [(m.id, m.type) for m in flow.ui.messages] == [(4000007, "error")]


def test_flows_are_fetched_by_id(frontend):
    reg = frontend.create_native_registration_flow()
    got = frontend.get_registration_flow(id=reg.id)
    assert (got.id, got.type, got.state) == (reg.id, "api", "choose_method")
    assert got.ui.method == "POST" and got.ui.action.endswith(f"/self-service/registration?flow={reg.id}")
    assert node(got, "traits.user_type").attributes.actual_instance.required

    flow_id = login_flow_id(frontend)
    got = frontend.get_login_flow(id=flow_id)
    assert (got.id, got.type) == (flow_id, "api")
    assert {"identifier", "password", "method"} <= {n.attributes.actual_instance.name for n in got.ui.nodes}


def test_unknown_flow_is_404(frontend):
    for get in (frontend.get_registration_flow, frontend.get_login_flow):
        e = failing(lambda: get(id=str(uuid.uuid4())), 404)
        assert ory.ErrorGeneric.from_json(e.body).error.code == 404


# --- admin identities API ------------------------------------------------------------------


def create(admin_api, email, password=None, hashed=None, user_type="student"):
    credentials = None
    if password or hashed:
        config = ory.IdentityWithCredentialsPasswordConfig(password=password, hashed_password=hashed)
        credentials = ory.IdentityWithCredentials(
            password=ory.IdentityWithCredentialsPassword(config=config)
        )
    return admin_api.create_identity(
        ory.CreateIdentityBody(
            schema_id="default", traits=traits(email, user_type), credentials=credentials
        )
    )


def test_admin_create_get_update_patch_delete(admin_api, frontend, email):
    ident = create(admin_api, email, password=PASSWORD)
    assert ident.state == "active" and ident.traits["email"] == email
    assert ident.schema_url.endswith("/schemas/ZGVmYXVsdA")
    assert [a.value for a in ident.verifiable_addresses] == [email]
    assert [a.value for a in ident.recovery_addresses] == [email]
    assert login(frontend, email).session.identity.id == ident.id

    got = admin_api.get_identity(ident.id, include_credential=["password"])
    assert got.traits == ident.traits
    assert got.credentials["password"].identifiers == [email]
    assert "hashed_password" in got.credentials["password"].config

    updated = admin_api.update_identity(
        ident.id,
        ory.UpdateIdentityBody(
            schema_id="default", state="active", traits=traits(email, "educator"),
            metadata_public={"plan": "pro"},
        ),
    )
    assert updated.traits["user_type"] == "educator" and updated.metadata_public == {"plan": "pro"}

    patched = admin_api.patch_identity(
        ident.id,
        [
            ory.JsonPatch(op="replace", path="/traits/name/first", value="Grace"),
            ory.JsonPatch(op="add", path="/metadata_admin", value={"note": "vip"}),
        ],
    )
    assert patched.traits["name"] == {"first": "Grace", "last": "Lovelace"}
    assert patched.metadata_admin == {"note": "vip"}
    assert admin_api.get_identity(ident.id).traits["name"]["first"] == "Grace"

    assert admin_api.delete_identity_with_http_info(ident.id).status_code == 204
    failing(lambda: admin_api.get_identity(ident.id), 404)
    e = failing(lambda: login(frontend, email), 400)
    assert [m["id"] for m in json.loads(e.body)["ui"]["messages"]] == [4000006]


def test_admin_invalid_traits_are_400(admin_api, email):
    e = failing(lambda: create(admin_api, email, password=PASSWORD, user_type="admin"), 400)
    error = ory.ErrorGeneric.from_json(e.body).error
    assert error.code == 400 and "user_type" in error.reason, error
    assert admin_api.list_identities(credentials_identifier=email) == []


def test_imported_bcrypt_hash_signs_in(admin_api, frontend, email):
    hashed = bcrypt.hashpw(b"imported secret 123", bcrypt.gensalt(rounds=4)).decode()
    ident = create(admin_api, email, hashed=hashed)
    assert login(frontend, email, "imported secret 123").session.identity.id == ident.id
    failing(lambda: login(frontend, email, PASSWORD), 400)


def test_list_identities_walks_pages_by_link_header(admin_api):
    mine = {create(admin_api, f"page-{i}-{uuid.uuid4().hex[:8]}@example.org").id for i in range(5)}
    seen, token, pages = [], None, 0
    while True:
        res = admin_api.list_identities_with_http_info(page_size=2, page_token=token)
        assert res.status_code == 200 and len(res.data) <= 2
        seen += [i.id for i in res.data]
        pages += 1
        token = link_next(res.headers.get("link") or res.headers.get("Link"))
        if not token:
            break
        assert pages < 1000, "pagination does not end"
    assert len(seen) == len(set(seen)), "an identity was listed twice"
    assert mine <= set(seen) and pages >= 3


def test_list_identities_by_credentials_identifier(admin_api, email):
    ident = create(admin_api, email, password=PASSWORD)
    found = admin_api.list_identities(credentials_identifier=email)
    assert [i.id for i in found] == [ident.id]
    assert admin_api.list_identities(credentials_identifier="nobody-" + email) == []


def test_admin_sessions_list_extend_revoke(admin_api, frontend, email):
    reg = register(frontend, email)
    ident_id = reg.identity.id
    sessions = admin_api.list_identity_sessions(ident_id)
    assert [s.id for s in sessions] == [reg.session.id] and sessions[0].active

    extended = admin_api.extend_session(reg.session.id)
    assert extended.id == reg.session.id and extended.expires_at >= reg.session.expires_at

    got = admin_api.get_session(reg.session.id, expand=["identity"])
    assert got.identity.id == ident_id

    assert admin_api.delete_identity_sessions_with_http_info(ident_id).status_code == 204
    failing(lambda: frontend.to_session(x_session_token=reg.session_token), 401)
    assert not admin_api.list_identity_sessions(ident_id, active=True)


def test_get_session_expand_as_documented(admin_api, frontend, email):
    reg = register(frontend, email)
    got = admin_api.get_session(reg.session.id, expand=["Identity", "Devices"])
    assert got.identity.id == reg.identity.id


# --- schemas, health, version --------------------------------------------------------------


def test_schemas(admin_api, server):
    listed = admin_api.list_identity_schemas()
    assert [s.id for s in listed] == ["default"]
    assert listed[0].var_schema["properties"]["traits"]["properties"]["user_type"]["enum"] == [
        "educator", "student"
    ]
    schema = admin_api.get_identity_schema("default")
    assert schema["title"] == "Person"
    public = ory.IdentityApi(ory.ApiClient(ory.Configuration(host=server.public.rstrip("/"))))
    assert public.get_identity_schema("ZGVmYXVsdA") == schema
    failing(lambda: admin_api.get_identity_schema("nope"), 404)


def test_health_and_version(metadata, server):
    assert metadata.is_alive().status == "ok"
    assert metadata.is_ready().status == "ok"
    assert re.match(r"v?\d+\.\d+\.\d+", metadata.get_version().version)
    assert requests.get(server.public + "health/alive", timeout=5).json() == {"status": "ok"}


# --- browser flow over plain HTTP with a cookie jar ----------------------------------------

JSON = {"Accept": "application/json"}


def test_browser_registration_sets_session_cookie(server, email):
    http = requests.Session()
    res = http.get(server.public + "self-service/registration/browser", headers=JSON, timeout=5)
    assert res.status_code == 200, res.text
    flow = res.json()
    assert flow["type"] == "browser"
    csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token")
    assert csrf and any(c.startswith("csrf_token") for c in http.cookies.keys())

    body = {"method": "password", "csrf_token": csrf, "password": PASSWORD, "traits": traits(email)}
    res = http.post(flow["ui"]["action"], json=body, headers=JSON, timeout=5)
    assert res.status_code == 200, res.text
    assert res.json()["identity"]["traits"]["email"] == email
    assert "session_token" not in res.json(), "browser flows never hand out a token"
    cookie = next(c for c in res.raw.headers.getlist("Set-Cookie") if c.startswith("ory_kratos_session="))
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax", cookie
    assert attrs["path"] == "Path=/", cookie

    me = http.get(server.public + "sessions/whoami", headers=JSON, timeout=5)
    assert me.status_code == 200 and me.json()["identity"]["traits"]["email"] == email
    assert requests.get(server.public + "sessions/whoami", timeout=5).status_code == 401


def test_browser_submission_without_csrf_is_403(server, email):
    http = requests.Session()
    flow = http.get(server.public + "self-service/registration/browser", headers=JSON, timeout=5).json()
    body = {"method": "password", "password": PASSWORD, "traits": traits(email)}
    res = http.post(flow["ui"]["action"], json=body, headers=JSON, timeout=5)
    assert res.status_code == 403, res.text
    assert res.json()["error"]["id"] == "security_csrf_violation"
    # Nothing was created.
    login_flow = http.get(server.public + "self-service/login/api", timeout=5).json()
    res = http.post(
        login_flow["ui"]["action"],
        json={"method": "password", "identifier": email, "password": PASSWORD},
        timeout=5,
    )
    assert res.status_code == 400 and res.json()["ui"]["messages"][0]["id"] == 4000006

"""Verification and recovery with codes through the official SDK; the codes are read from
the courier's messages through the SDK's CourierApi, as an operator's tooling would."""

import re
import time
import urllib.error
import urllib.request

import ory_kratos_client as ory

from test_sdk import PASSWORD, failing, login, register


def code_for(courier, email):
    """The code in the newest mail to `email` (the dev mailbox keeps every mail)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = courier.list_courier_messages(recipient=email)
        if messages:
            newest = max(messages, key=lambda m: m.created_at)
            found = re.search(r"\b(\d{6})\b", newest.body)
            assert found, newest.body
            return found.group(1), newest
        time.sleep(0.1)
    raise AssertionError(f"no mail to {email}")


def test_verification_by_code(frontend, courier, email):
    reg = register(frontend, email)
    actions = [c.actual_instance.action for c in reg.continue_with or []]
    assert "show_verification_ui" in actions, actions
    code, mail = code_for(courier, email)
    assert mail.template_type == "verification_code_valid"
    assert mail.recipient == email

    flow = frontend.create_native_verification_flow()
    body = ory.UpdateVerificationFlowBody(ory.UpdateVerificationFlowWithCodeMethod(method="code", email=email))
    sent = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=body)
    assert sent.state == "sent_email"
    code, _ = code_for(courier, email)

    wrong = "000000" if code != "000000" else "111111"
    body = ory.UpdateVerificationFlowBody(ory.UpdateVerificationFlowWithCodeMethod(method="code", code=wrong))
    bad = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=body)
    assert [m.id for m in bad.ui.messages] == [4070006]

    body = ory.UpdateVerificationFlowBody(ory.UpdateVerificationFlowWithCodeMethod(method="code", code=code))
    done = frontend.update_verification_flow(flow=flow.id, update_verification_flow_body=body)
    assert done.state == "passed_challenge"
    assert [m.id for m in done.ui.messages] == [1080002]
    assert frontend.get_verification_flow(id=flow.id).state == "passed_challenge"


def test_recovery_by_code_lands_in_settings(frontend, courier, email):
    register(frontend, email)
    flow = frontend.create_native_recovery_flow()
    body = ory.UpdateRecoveryFlowBody(ory.UpdateRecoveryFlowWithCodeMethod(method="code", email=email))
    sent = frontend.update_recovery_flow(flow=flow.id, update_recovery_flow_body=body)
    assert sent.state == "sent_email"
    code, mail = code_for(courier, email)
    assert mail.template_type == "recovery_code_valid"

    body = ory.UpdateRecoveryFlowBody(ory.UpdateRecoveryFlowWithCodeMethod(method="code", code=code))
    done = frontend.update_recovery_flow(flow=flow.id, update_recovery_flow_body=body)
    assert done.state == "passed_challenge"
    token = next(c.actual_instance.ory_session_token for c in done.continue_with
                 if c.actual_instance.action == "set_ory_session_token")
    settings_id = next(c.actual_instance.flow.id for c in done.continue_with
                       if c.actual_instance.action == "show_settings_ui")
    settings = frontend.get_settings_flow(id=settings_id, x_session_token=token)
    assert [m.id for m in settings.ui.messages] == [1060001]
    body = ory.UpdateSettingsFlowBody(ory.UpdateSettingsFlowWithPasswordMethod(method="password", password="recovered passphrase 77"))
    frontend.update_settings_flow(flow=settings_id, update_settings_flow_body=body, x_session_token=token)
    assert isinstance(login(frontend, email, "recovered passphrase 77"), ory.SuccessfulNativeLogin)
    failing(lambda: login(frontend, email, PASSWORD), 400)


def test_recovery_for_an_unknown_address_answers_the_same(frontend, courier):
    flow = frontend.create_native_recovery_flow()
    body = ory.UpdateRecoveryFlowBody(ory.UpdateRecoveryFlowWithCodeMethod(method="code", email="nobody-here@example.org"))
    sent = frontend.update_recovery_flow(flow=flow.id, update_recovery_flow_body=body)
    assert sent.state == "sent_email"
    assert [m.id for m in sent.ui.messages] == [1060003]
    assert courier.list_courier_messages(recipient="nobody-here@example.org") == []


def test_admin_recovery_link_and_code(frontend, admin_api, email):
    reg = register(frontend, email)
    identity_id = reg.identity.id
    link = admin_api.create_recovery_link_for_identity(
        create_recovery_link_for_identity_body=ory.CreateRecoveryLinkForIdentityBody(identity_id=identity_id, expires_in="10m"))
    assert "token=" in link.recovery_link and link.expires_at is not None

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(link.recovery_link)
        raise AssertionError("the link must redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code
        assert "/ui/settings?flow=" in e.headers["Location"], e.headers["Location"]
        assert any(c.startswith("ory_kratos_session=") for c in e.headers.get_all("Set-Cookie"))

    code = admin_api.create_recovery_code_for_identity(
        create_recovery_code_for_identity_body=ory.CreateRecoveryCodeForIdentityBody(identity_id=identity_id))
    assert len(code.recovery_code) == 6 and "flow=" in code.recovery_link


def test_a_new_address_in_settings_is_verified(frontend, courier, email):
    reg = register(frontend, email)
    token = reg.session_token
    flow = frontend.create_native_settings_flow(x_session_token=token)
    changed = email.replace("user-", "moved-")
    body = ory.UpdateSettingsFlowBody(ory.UpdateSettingsFlowWithProfileMethod(
        method="profile", traits={"email": changed, "user_type": "student"}))
    saved = frontend.update_settings_flow(flow=flow.id, update_settings_flow_body=body, x_session_token=token)
    nexts = [c.actual_instance for c in saved.continue_with or []]
    assert [n.action for n in nexts] == ["show_verification_ui"], nexts
    assert nexts[0].flow.verifiable_address == changed
    code, mail = code_for(courier, changed)
    body = ory.UpdateVerificationFlowBody(ory.UpdateVerificationFlowWithCodeMethod(method="code", code=code))
    done = frontend.update_verification_flow(flow=nexts[0].flow.id, update_verification_flow_body=body)
    assert done.state == "passed_challenge"

"""The settings flow through the official SDK: profile and password updates, and the
privileged-session error shape the SDK models."""

import ory_kratos_client as ory

from test_sdk import PASSWORD, failing, login, node, register, traits


def settings_flow(frontend, token):
    flow = frontend.create_native_settings_flow(x_session_token=token)
    assert flow.state == "show_form" and flow.type == "api"
    return flow


def test_profile_update_through_the_sdk(frontend, email):
    reg = register(frontend, email, "student")
    token = reg.session_token
    flow = settings_flow(frontend, token)
    assert flow.identity.id == reg.identity.id
    assert node(flow, "traits.email").attributes.actual_instance.value == email
    assert node(flow, "traits.user_type").group == "profile"

    new = traits(email, "educator")
    new["name"]["first"] = "Grace"
    body = ory.UpdateSettingsFlowBody(
        ory.UpdateSettingsFlowWithProfileMethod(method="profile", traits=new)
    )
    done = frontend.update_settings_flow(flow=flow.id, update_settings_flow_body=body, x_session_token=token)
    assert done.state == "success"
    assert [m.id for m in done.ui.messages] == [1050001]
    assert done.identity.traits["name"]["first"] == "Grace"
    assert frontend.to_session(x_session_token=token).identity.traits["user_type"] == "educator"

    again = frontend.get_settings_flow(id=flow.id, x_session_token=token)
    assert again.id == flow.id


def test_password_update_and_invalid_traits(frontend, email):
    reg = register(frontend, email)
    token = reg.session_token
    flow = settings_flow(frontend, token)
    body = ory.UpdateSettingsFlowBody(
        ory.UpdateSettingsFlowWithPasswordMethod(method="password", password="a different passphrase 42")
    )
    done = frontend.update_settings_flow(flow=flow.id, update_settings_flow_body=body, x_session_token=token)
    assert done.state == "success"
    assert isinstance(login(frontend, email, "a different passphrase 42"), ory.SuccessfulNativeLogin)
    failing(lambda: login(frontend, email, PASSWORD), 400)

    bad = ory.UpdateSettingsFlowBody(
        ory.UpdateSettingsFlowWithProfileMethod(method="profile", traits=traits(email, "admin"))
    )
    e = failing(
        lambda: frontend.update_settings_flow(flow=flow.id, update_settings_flow_body=bad, x_session_token=token),
        400,
    )
    rejected = ory.SettingsFlow.from_json(e.body)
    assert [m.id for m in node(rejected, "traits.user_type").messages] == [4000001]


def test_settings_without_a_session_is_401(frontend):
    e = failing(lambda: frontend.create_native_settings_flow(x_session_token="ory_st_nope"), 401)
    assert ory.ErrorGeneric.from_json(e.body).error.id == "session_inactive"

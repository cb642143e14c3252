"""The built-in UI in headless Debian Chromium: sign up, sign out, sign in. Screenshots of each
step are kept in the output directory."""

import os
import uuid
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def page(server):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.requested = []
            page.on("request", lambda r: page.requested.append(r.url))
            yield page
        finally:
            browser.close()


def test_sign_up_sign_out_sign_in(page, server):
    shots = server.out / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    shot = lambda name: page.screenshot(path=str(shots / f"{name}.png"), full_page=True)  # noqa: E731
    email = f"ui-{uuid.uuid4().hex[:10]}@example.org"

    page.goto(server.public + "ui/registration")
    assert "/ui/registration?flow=" in page.url
    assert page.title().startswith("Create account")
    page.fill('input[name="traits.email"]', email)
    page.fill('input[name="traits.name.first"]', "Ada")
    page.fill('input[name="traits.name.last"]', "Lovelace")
    page.select_option('select[name="traits.user_type"]', "educator")
    page.fill('input[name="password"]', PASSWORD)
    shot("1-registration")
    page.click('button[name="method"][value="password"]')

    page.wait_for_url("**/ui/welcome")
    body = page.inner_text("body")
    assert email in body and "educator" in body, body
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["ory_kratos_session"]["httpOnly"]
    assert cookies["ory_kratos_session"]["sameSite"] == "Lax"
    shot("2-welcome")

    page.click("text=Sign out")
    page.wait_for_url("**/ui/login?flow=*")
    assert "ory_kratos_session" not in {c["name"] for c in page.context.cookies()}
    whoami = page.context.request.get(server.public + "sessions/whoami")
    assert whoami.status == 401
    shot("3-signed-out")

    page.fill('input[name="identifier"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[name="method"][value="password"]')
    page.wait_for_url("**/ui/welcome")
    assert email in page.inner_text("body")
    whoami = page.context.request.get(server.public + "sessions/whoami")
    assert whoami.status == 200 and whoami.json()["identity"]["traits"]["email"] == email
    shot("4-signed-in")

    hosts = {urlsplit(u).hostname for u in page.requested}
    assert hosts == {"127.0.0.1"}, f"the UI loaded from other hosts: {sorted(page.requested)}"
    assert all(u.startswith(server.public) for u in page.requested), page.requested


def test_wrong_password_is_shown_on_the_form(page, server):
    page.goto(server.public + "ui/login")
    page.fill('input[name="identifier"]', "nobody@example.org")
    page.fill('input[name="password"]', "not the password")
    page.click('button[name="method"][value="password"]')
    page.wait_for_url("**/ui/login?flow=*")
    assert "The provided credentials are invalid" in page.inner_text("body")
    assert page.input_value('input[name="identifier"]') == "nobody@example.org"
    (server.out / "browser").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(server.out / "browser" / "5-wrong-password.png"))

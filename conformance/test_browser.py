"""The built-in UI in headless Debian Chromium: sign up, sign out, sign in, and the whole
self-service story (verification, settings, recovery) with codes read from the dev mailbox.
Screenshots of each step are kept in the output directory."""

import itertools
import os
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

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
            # A context of its own, so that a test may open a second tab (the mailbox).
            page = browser.new_context(viewport={"width": 800, "height": 900}).new_page()
            page.requested = []
            # On the context, so that pages opened later (the mailbox tab) are watched too.
            page.context.on("request", lambda r: page.requested.append(r.url))
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


NEW_PASSWORD = "a brand new passphrase 42"

# Visible form controls without an accessible name: no aria-label, no aria-labelledby, no
# <label> with text other than the control's own field name, and (buttons) no text.
UNLABELLED = """els => els
  .filter(e => e.type !== "hidden" && e.getClientRects().length > 0)
  .filter(e => {
    const named = t => (t || "").trim() !== "" && (t || "").trim() !== e.name;
    if (named(e.getAttribute("aria-label"))) return false;
    const by = (e.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (by.some(id => named(document.getElementById(id)?.textContent))) return false;
    if ([...(e.labels || [])].some(l => named(l.textContent))) return false;
    return !(e.tagName === "BUTTON" && named(e.textContent));
  })
  .map(e => e.outerHTML)"""


def messages(page, kind):
    """The texts of the flow's messages of one kind (info, success, error) on the page."""
    return [m.inner_text().strip() for m in page.locator(f".msg.{kind}").all() if m.is_visible()]


def says(page, kind, text):
    """Asserts that the page shows a message of that kind containing `text`."""
    shown = messages(page, kind)
    assert any(text in m for m in shown), f"{page.url}: no {kind} message {text!r} in {shown}"


def mailbox(mail, server, email):
    """Opens the dev mailbox in the `mail` tab; the rows of the mails to `email`, newest first."""
    mail.goto(server.public + "ui/mail")
    assert mail.title().startswith("Mailbox")
    assert mail.inner_text("thead th:nth-child(2)").strip() == "To"
    return mail.locator(f'tbody tr:has(td:nth-child(2):text-is("{email}"))')


def mailed_code(mail, server, email, template, seen):
    """Waits for more than `seen` mails to `email` in the mailbox, opens the newest and
    returns its code (the value of its "Code" row) and how many mails there were."""
    rows = mailbox(mail, server, email)
    deadline = time.monotonic() + 10
    while rows.count() <= seen:
        assert time.monotonic() < deadline, f"no new mail to {email}:\n{mail.inner_text('body')}"
        time.sleep(0.2)
        mail.reload()
    count = rows.count()
    rows.first.locator("td:nth-child(3) a").click()
    mail.wait_for_url("**/ui/mail/*")
    assert mail.inner_text('dt:text-is("To") + dd').strip() == email
    assert mail.inner_text('dt:text-is("Template") + dd').strip() == template
    code = mail.inner_text('dt:text-is("Code") + dd > code').strip()
    assert re.fullmatch(r"\d{6}", code), code
    assert code in mail.inner_text("pre"), "the code is in the mail's own text"
    return code, count


def test_whole_story(page, server):
    """Sign up, verify the address, sign in, edit the profile, recover the account with a
    new password, and sign in with it: clicks and typing only, codes read from /ui/mail."""
    shots = server.out / "browser" / "story"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    numbers = itertools.count(1)
    errors = []
    page.context.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location})"))
    mail = page.context.new_page()
    mails = 0  # mails to the address seen so far

    def step(name, on=page):
        on.screenshot(path=str(shots / f"{next(numbers):02d}-{name}.png"), full_page=True)
        unlabelled = on.eval_on_selector_all("input, select, textarea, button", UNLABELLED)
        assert unlabelled == [], f"{on.url}: form controls without an accessible name: {unlabelled}"

    def press(selector, url, on=page):
        """Clicks and waits for the page it leads to (which may have the same address)."""
        with on.expect_navigation(url=url):
            on.click(selector)

    def admin_identity(identity_id):
        res = requests.get(server.admin + f"admin/identities/{identity_id}", timeout=10)
        assert res.status_code == 200, res.text
        return res.json()

    def whoami():
        return page.context.request.get(server.public + "sessions/whoami")

    def sign_out():
        press("text=Sign out", "**/ui/login?flow=*")
        assert whoami().status == 401

    def sign_in(password, lands_on):
        page.fill('input[name="identifier"]', email)
        page.fill('input[name="password"]', password)
        press('button[name="method"][value="password"]', lands_on)

    email = f"story-{uuid.uuid4().hex[:10]}@example.org"

    # 1. Sign up.
    page.bring_to_front()
    page.goto(server.public + "ui/registration")
    page.wait_for_url("**/ui/registration?flow=*")
    step("registration")
    page.fill('input[name="traits.email"]', email)
    page.fill('input[name="traits.name.first"]', "Ada")
    page.fill('input[name="traits.name.last"]', "Lovelace")
    page.select_option('select[name="traits.user_type"]', "educator")
    page.fill('input[name="password"]', PASSWORD)
    step("registration-filled")
    # With `show_verification_ui` sign-up leads to the verification form, else to the welcome page.
    press('button[name="method"][value="password"]', re.compile(r".*/ui/(welcome|verification\?flow=.*)$"))
    step("after-registration")
    me = whoami()
    assert me.status == 200, me.text()
    identity_id = me.json()["identity"]["id"]
    address = admin_identity(identity_id)["verifiable_addresses"][0]
    assert address["value"] == email and not address["verified"], address

    # 2. Verify the address with the code from the mailbox.
    if "/ui/verification" not in page.url:
        says(page, "info", f"{email} is not verified yet.")
        press("text=Verify your e-mail address", "**/ui/verification?flow=*")
        step("verification")
        # Sign-up mailed a code for a flow of its own; this form mails another.
        mails = mailbox(mail, server, email).count()
        page.bring_to_front()
        page.fill('input[name="email"]', email)
        press('button[name="method"][value="code"]', "**/ui/verification?flow=*")
    says(page, "info", "verification code has been sent")
    step("verification-code-sent")
    code, mails = mailed_code(mail, server, email, "verification_code_valid", mails)
    step("mailbox-verification", on=mail)
    page.bring_to_front()
    wrong = "000000" if code != "000000" else "111111"
    page.fill('input[name="code"]', wrong)
    press('button[name="method"][value="code"]', "**/ui/verification?flow=*")
    says(page, "error", "verification code is invalid")
    step("verification-wrong-code")
    page.fill('input[name="code"]', code)
    press('button[name="method"][value="code"]', "**/ui/verification?flow=*")
    says(page, "success", "You successfully verified your email address.")
    assert messages(page, "error") == []
    step("verified")

    # 3. The address is verified, as the admin API tells.
    address = admin_identity(identity_id)["verifiable_addresses"][0]
    assert address["value"] == email and address["verified"] and address["status"] == "completed", address

    # 4. Sign out, sign in.
    press("text=Continue", "**/ui/welcome")
    assert "not verified" not in page.inner_text("body")
    step("welcome-after-verification")
    sign_out()
    step("signed-out")
    sign_in(PASSWORD, "**/ui/welcome")
    assert email in page.inner_text("body")
    step("signed-in")

    # 5. Change the first name in the settings.
    press("text=Account settings", "**/ui/settings?flow=*")
    assert page.input_value('input[name="traits.name.first"]') == "Ada"
    step("settings")
    page.fill('input[name="traits.name.first"]', "Augusta")
    press('button[name="method"][value="profile"]', "**/ui/settings?flow=*")
    says(page, "success", "Your changes have been saved!")
    assert page.input_value('input[name="traits.name.first"]') == "Augusta"
    step("settings-saved")
    me = whoami()
    assert me.status == 200
    assert me.json()["identity"]["traits"]["name"] == {"first": "Augusta", "last": "Lovelace"}
    assert me.json()["identity"]["traits"]["user_type"] == "educator"

    # 6. Sign out, recover the account with a code, set a new password.
    press("text=Done", "**/ui/welcome")
    assert "Augusta" in page.inner_text("body")
    sign_out()
    press("text=Forgot your password?", "**/ui/recovery?flow=*")
    step("recovery")
    page.fill('input[name="email"]', email)
    press('button[name="method"][value="code"]', "**/ui/recovery?flow=*")
    says(page, "info", "recovery code has been sent")
    step("recovery-code-sent")
    code, mails = mailed_code(mail, server, email, "recovery_code_valid", mails)
    step("mailbox-recovery", on=mail)
    page.bring_to_front()
    page.fill('input[name="code"]', code)
    press('button[name="method"][value="code"]', "**/ui/settings?flow=*")
    says(page, "success", "You successfully recovered your account.")
    assert whoami().json()["identity"]["id"] == identity_id
    step("recovered")
    page.fill('input[name="password"]', NEW_PASSWORD)
    press('button[name="method"][value="password"]', "**/ui/settings?flow=*")
    says(page, "success", "Your changes have been saved!")
    step("password-changed")

    # 7. The new password signs in; the old one is refused on the form.
    press("text=Done", "**/ui/welcome")
    sign_out()
    sign_in(NEW_PASSWORD, "**/ui/welcome")
    assert email in page.inner_text("body")
    assert whoami().json()["identity"]["id"] == identity_id
    step("signed-in-with-new-password")
    sign_out()
    sign_in(PASSWORD, "**/ui/login?flow=*")
    refused = page.locator('.msg.error[role="alert"]')
    assert refused.is_visible() and "The provided credentials are invalid" in refused.inner_text()
    assert page.input_value('input[name="identifier"]') == email
    assert whoami().status == 401
    step("old-password-refused")

    hosts = {urlsplit(u).hostname for u in page.requested}
    assert hosts == {"127.0.0.1"}, f"the UI loaded from other hosts: {sorted(page.requested)}"
    assert all(u.startswith(server.public) for u in page.requested), page.requested
    assert errors == [], errors

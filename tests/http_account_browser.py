"""Drives the account page in a real headless Chromium (selenium with
Debian's chromium-driver) against a test server, and checks over IMAP
(imaplib) what the page did. One JSON argument:

  {"https": PORT, "imaps": PORT, "cafile": PATH, "user": ADDRESS,
   "password": PW, "new_password": PW, "work": DIR, "shots": DIR,
   "scenario": NAME}

Scenarios (each a test of its own in crates/server/tests/http_account.rs):
  export   - wrong password refused, sign in, download the export and
             check the archive holds the message appended over IMAP
  password - create an app password and log in with it over IMAP; change
             the password: the new one works over IMAP, the old one not
  delete   - ask to delete the account: a confirmation link arrives in
             INBOX (read over IMAP); IMAP works until it is confirmed,
             fails at once after

Screenshots of each page land in SHOTS (kept as artifacts); the browser
profile and downloads in WORK.
A missing selenium or chromium fails (exit 1), never skips.
"""
import imaplib
import os
import re
import shutil
import sys
import tarfile
import time

from e2e_lib import args, check, fail, tls_context

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:  # the test must fail, not skip
    fail(f"selenium is not installed (pip install selenium): {e}")

HOST = "mail.example.org"


def browser(work):
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        fail("chromium and chromium-driver must be installed (apt-get install chromium chromium-driver)")
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={os.path.join(work, 'chromium-profile')}",
        # The test server's name, on loopback; its self-signed certificate.
        f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
        "--ignore-certificate-errors",
    ]:
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
    })
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.set_page_load_timeout(30)
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return d, downloads


class Page:
    def __init__(self, a):
        self.a = a
        self.base = f"https://{HOST}:{a['https']}"
        self.shots = a["shots"]
        os.makedirs(self.shots, exist_ok=True)
        self.d, self.downloads = browser(a["work"])
        self.n = 0

    def shot(self, name):
        self.n += 1
        self.d.save_screenshot(os.path.join(self.shots, f"{self.a['scenario']}-{self.n:02}-{name}.png"))

    def go(self, path):
        self.d.get(self.base + path)

    def fill(self, field, value):
        el = self.d.find_element(By.NAME, field)
        el.clear()
        el.send_keys(value)

    def click(self, css, navigates=True):
        # A form submission returns from click() before the next page has
        # replaced this one; reading the page at once could see the old
        # document. The old page's window carries a mark; a new document
        # has a new window object without it. Waiting on an element of the
        # old page instead fails while the page changes: ChromeDriver then
        # answers StaleElementReference or, since Chromium 156, "Node with
        # given id does not belong to the document"; a script run while
        # the page changes can fail too, so errors count as "not yet".
        if navigates:
            self.d.execute_script("window.sealpostOldPage = true")
        self.d.find_element(By.CSS_SELECTOR, css).click()
        if navigates:
            WebDriverWait(self.d, 30, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script(
                    "return window.sealpostOldPage === undefined"
                    " && document.readyState === 'complete'"))

    def h1(self):
        return self.d.find_element(By.TAG_NAME, "h1").text

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def sign_in(self, password):
        self.go("/account")
        check(self.h1() == "Sign in to your mail account", f"sign-in page expected, got {self.h1()!r}")
        self.fill("address", self.a["user"])
        self.fill("password", password)
        self.click("form[action='/account/login'] button[type=submit]")


def imap_login(a, password):
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
    try:
        m.login(a["user"], password)
    except imaplib.IMAP4.error:
        return None
    return m


def scenario_export(a, p):
    subject = "Account page export check"
    m = imap_login(a, a["password"])
    check(m is not None, "IMAP login with the test password")
    msg = f"From: bob@example.net\r\nTo: {a['user']}\r\nSubject: {subject}\r\n\r\nhello export\r\n"
    typ, _ = m.append("INBOX", None, None, msg.encode())
    check(typ == "OK", "APPEND")
    m.logout()

    p.sign_in("not the password")
    p.shot("wrong-password")
    check("The address or password is wrong" in p.text(), "wrong password message shown")
    check(p.h1() == "Sign in to your mail account", "still the sign-in page")

    p.sign_in(a["password"])
    p.shot("overview")
    check(p.h1() == "Your account", f"signed in, got {p.h1()!r}")
    check(f"Signed in as {a['user']}" in p.text(), "account named")
    cookies = {c["name"]: c for c in p.d.get_cookies()}
    s = cookies.get("__Host-sealpost-session")
    check(s is not None and s["secure"] and s["httpOnly"] and s.get("sameSite") == "Strict",
          f"session cookie flags: {s}")

    p.click("#export", navigates=False)
    deadline = time.time() + 30
    tar = None
    while time.time() < deadline:
        done = [f for f in os.listdir(p.downloads) if f.endswith(".tar")]
        if done:
            tar = os.path.join(p.downloads, done[0])
            break
        time.sleep(0.2)
    check(tar is not None, f"no archive downloaded: {os.listdir(p.downloads)}")
    with tarfile.open(tar) as t:
        names = t.getnames()
        check("README.txt" in names and "access-log.csv" in names, f"archive members: {names}")
        inbox = t.extractfile("mbox/INBOX.mbox").read().decode()
        check(f"Subject: {subject}" in inbox and "hello export" in inbox, "the message is in INBOX.mbox")
        log = t.extractfile("access-log.csv").read().decode()
        check(",https,success," in log, f"the page's sign-in is in the access log: {log}")
    print("OK export")


def scenario_password(a, p):
    p.sign_in(a["password"])
    check(p.h1() == "Your account", f"signed in, got {p.h1()!r}")
    p.fill("label", "phone")
    p.click("#add-app-password")
    p.shot("app-password")
    check(p.h1() == "Your new app password", f"got {p.h1()!r}")
    app = p.d.find_element(By.ID, "app-password").text.strip()
    check(len(app) == 29, f"an app password: {app!r}")
    m = imap_login(a, app)
    check(m is not None, "IMAP login with the new app password")
    m.logout()

    p.go("/account")
    check("phone" in p.text(), "the app password is listed")
    p.fill("current_password", a["password"])
    p.fill("new_password", a["new_password"])
    p.fill("confirm_password", a["new_password"])
    p.click("#change-password")
    p.shot("password-changed")
    check("Your password was changed" in p.text(), f"notice shown: {p.text()[:300]}")
    m = imap_login(a, a["new_password"])
    check(m is not None, "IMAP login with the new password")
    m.logout()
    check(imap_login(a, a["password"]) is None, "the old password no longer works over IMAP")
    m = imap_login(a, app)
    check(m is not None, "the app password still works")
    m.logout()
    print("OK password")


def scenario_delete(a, p):
    p.sign_in(a["password"])
    check(p.h1() == "Your account", f"signed in, got {p.h1()!r}")
    p.click("#delete-link")
    p.shot("delete-statement")
    check(p.h1() == "Delete your account", f"got {p.h1()!r}")
    check("30 days" in p.text() and "destroyed for good" in p.text(), "the statement names the grace period")
    p.fill("confirm_address", a["user"])
    p.fill("password", a["password"])
    p.click("#delete")
    p.shot("delete-check-mail")
    check(p.h1() == "Check your mailbox", f"got {p.h1()!r}: {p.text()[:300]}")
    m = imap_login(a, a["password"])
    check(m is not None, "IMAP works until the deletion is confirmed")
    typ, data = m.select("INBOX")
    typ, data = m.fetch(data[0].decode(), "(BODY.PEEK[])")
    mail = data[0][1].decode()
    m.logout()
    check("Subject: Confirm the deletion of your account" in mail, mail[:300])
    link = re.search(r"https://[^/]+(/account/delete/confirm\?code=[A-Za-z0-9_-]+)", mail)
    check(link is not None, f"no confirmation link in {mail[:500]!r}")
    p.go(link.group(1))
    p.shot("delete-confirm")
    check(p.h1() == "Confirm the deletion", f"got {p.h1()!r}")
    p.click("#confirm-delete")
    p.shot("deleted")
    check(p.h1() == "Your account is deleted", f"got {p.h1()!r}: {p.text()[:300]}")
    check(imap_login(a, a["password"]) is None, "IMAP login fails after deletion")
    p.go("/account")
    check(p.h1() == "Sign in to your mail account", "the session ended")
    print("OK delete")


def main():
    a = args()
    p = Page(a)
    try:
        {"export": scenario_export, "password": scenario_password,
         "delete": scenario_delete}[a["scenario"]](a, p)
    finally:
        p.d.quit()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # a selenium error is a failure with its message
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

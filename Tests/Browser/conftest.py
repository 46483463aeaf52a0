"""The rig for the browser tests: a real `commhub serve --demo` on a
simulated clock, the provider stand-ins, and headless Chromium driven by
Selenium at a desktop and a phone viewport.

Screenshots go to $BROWSER_TEST_OUTPUT (default .build/browser-tests/).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from standins import EntraID, WhatsAppCloud

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("COMMHUB_BIN") or os.path.join(ROOT, ".build", "debug", "commhub")
OUTPUT = os.environ.get("BROWSER_TEST_OUTPUT") or os.path.join(ROOT, ".build", "browser-tests")
ADMIN_TOKEN = "browser-tests-admin-token"
DEMO_PASSWORD = "chargecars-demo"
APP_SECRET = "browser-tests-meta-app-secret"
# How long a test waits for something the page should show (a live event, a render).
WAIT_SECONDS = 20

DESKTOP = (1440, 900)
PHONE = (390, 844)


class Server:
    """`commhub serve --demo --simulated-clock` on free loopback ports."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="commhub-browser-")
        self.log_path = os.path.join(OUTPUT, "server.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ, COMMHUB_ADMIN_TOKEN=ADMIN_TOKEN)
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data", self.data, "--http-port", "0", "--ingest-port", "0", "--demo",
             "--simulated-clock", "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            text = open(self.log_path).read()
            m = re.search(r"CommHub serving http://127\.0\.0\.1:(\d+)", text)
            if m:
                self.port = int(m.group(1))
                self.base = f"http://127.0.0.1:{self.port}"
                return
            if self.proc.poll() is not None:
                raise RuntimeError("commhub exited early:\n" + text)
            time.sleep(0.1)
        raise RuntimeError("commhub not ready in 120 s:\n" + open(self.log_path).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)

    def api(self, method, path, body=None, token=ADMIN_TOKEN, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, (json.loads(text) if text and r.headers.get_content_type() == "application/json" else text)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def admin(self, command):
        """One line to the admin socket; its JSON answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.data, "admin.sock"))
        s.sendall(command.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)

    def now(self):
        """CommHub's clock (simulated), as seconds since 1970."""
        iso = self.admin("clock")["now"]
        from datetime import datetime
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="session")
def rig():
    os.makedirs(OUTPUT, exist_ok=True)
    wa = WhatsAppCloud().start()
    server = Server()
    entra = EntraID(clock=server.now).start()
    try:
        configure(server, wa, entra)
        yield Rig(server, wa, entra)
    finally:
        server.stop()
        wa.stop()
        entra.stop()


class Rig:
    def __init__(self, server, wa, entra):
        self.server, self.wa, self.entra = server, wa, entra
        self.wa_channel = next(c for c in server.api("GET", "/api/communication/channels")[1]["items"]
                               if c["channel_type"] == "whatsapp_business" and c["business_entity"] == "laderthuis")
        self.phone_number_id = self.wa_channel["configuration"]["phone_number_id"]
        self.contacts = {c["name"]: c for c in server.api("GET", "/api/contacts")[1]["items"]}

    def whatsapp_inbound(self, wa_id, name, text, wamid):
        """A signed Cloud API notification to the embedded gateway, as Meta sends it."""
        from standins import sign_whatsapp
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "31201234567", "phone_number_id": self.phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(self.server.now())), "type": "text", "text": {"body": text}}],
        }}]}]}).encode()
        status, answer = self.server.api("POST", "/webhooks/whatsapp?channel_id=" + self.wa_channel["id"], raw=body, token=None,
                                         headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign_whatsapp(APP_SECRET, body)})
        assert status == 200, (status, answer)


def configure(server, wa, entra):
    """Points the demo's laderthuis WhatsApp channel at the stand-in and turns Microsoft sign-in on."""
    channels = server.api("GET", "/api/communication/channels")[1]["items"]
    ch = next(c for c in channels if c["channel_type"] == "whatsapp_business" and c["business_entity"] == "laderthuis")
    conf = dict(ch["configuration"], graph_base_url=wa.base_url + "/v21.0", access_token="EAAG-browser-tests",
                app_secret=APP_SECRET, verify_token="browser-tests-verify", mark_as_read=False)
    status, answer = server.api("PUT", f"/api/communication/channels/{ch['id']}", {"configuration": conf})
    assert status == 200, answer
    status, answer = server.api("PUT", "/api/sign-in/microsoft", {
        "tenant_id": entra.tenant, "client_id": entra.client_id, "client_secret": entra.client_secret,
        "login_base_url": entra.base_url, "enabled": True})
    assert status == 200, answer


def make_driver(size, phone=False, lang="en-US"):
    o = Options()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--lang={lang}",
                f"--window-size={size[0]},{size[1]}", "--no-first-run", "--disable-extensions"]:
        o.add_argument(arg)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    if phone:
        o.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 3, "touch": True},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=o)
    d.set_window_size(*size)
    return d


@pytest.fixture
def browser(request):
    """A desktop Chromium; its console errors fail the test; a screenshot at the end."""
    drivers = []

    def open_browser(size=DESKTOP, phone=False, lang="en-US"):
        d = make_driver(size, phone, lang)
        drivers.append(d)
        return d

    yield open_browser
    for i, d in enumerate(drivers):
        try:
            d.save_screenshot(os.path.join(OUTPUT, f"{request.node.name}-end-{i}.png"))
            # Script errors fail the test; answers like 401 before sign-in are the API's to give (source "network").
            errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"]
        finally:
            d.quit()
        assert not errors, f"console errors: {errors}"


def wait(d, seconds=WAIT_SECONDS):
    # Live updates redraw lists while a condition reads them: a stale row is "not yet", not a failure.
    return WebDriverWait(d, seconds, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])


def sign_in(d, base, email, password=DEMO_PASSWORD):
    d.get(base + "/")
    wait(d).until(EC.element_to_be_clickable((By.ID, "email"))).send_keys(email)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "signin-submit").click()
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#inbox-rows .row")))
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "live-state"), "Live"))


def shot(d, name):
    path = os.path.join(OUTPUT, f"{name}.png")
    d.save_screenshot(path)
    return path


def email_of(name):
    return name.lower().replace(" ", ".") + "@chargecars.nl"

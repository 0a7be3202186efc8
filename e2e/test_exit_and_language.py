"""Quick exit leaves no way back; the language follows the browser and can be switched."""
import pytest

from .conftest import new_context

NEUTRAL = "https://www.google.com/search?q=weather+tomorrow"


def test_quick_exit_replaces_the_page_without_a_history_entry(phone):
    context, recorder = phone
    # The neutral site is a navigation of the tab, not a request the app makes; answer it locally.
    context.route("https://www.google.com/**", lambda route: route.fulfill(body="<p>Weather</p>", content_type="text/html"))
    page = context.new_page()
    page.goto("/")
    page.click("#start")
    length = page.evaluate("() => history.length")
    page.click("#exit")
    page.wait_for_url(NEUTRAL)
    assert page.evaluate("() => history.length") == length
    page.go_back()
    assert not page.url.startswith(recorder.base), page.url
    fetched = [r for r in recorder.requests if r.url.startswith("https://") and not r.is_navigation_request()]
    assert fetched == []


@pytest.mark.parametrize("locale,title", [("es-ES", "Frena la difusión"), ("en-GB", "Stop your photos")])
def test_language_follows_the_browser_and_switches(browser, playwright, server, locale, title):
    context, _ = new_context(browser, playwright, server, "iPhone 13", locale=locale)
    page = context.new_page()
    page.goto("/")
    assert page.inner_text("#intro-h").startswith(title)
    page.click("#lang")
    other = "en" if locale.startswith("es") else "es"
    assert page.evaluate("() => document.documentElement.lang") == other
    assert not page.inner_text("#intro-h").startswith(title)
    context.close()

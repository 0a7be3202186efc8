"""Screen readers: focus goes to each new screen's heading, progress and results are announced
politely, every control has a name. axe-core itself runs on every screen in every language in
test_layout.py, through serious() below."""
import pytest

from .conftest import PHOTOS, REPO, open_app, pick

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def serious(page, screen):
    """axe-core's violations of serious or critical impact on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Through DevTools, so the page's CSP (which rightly forbids inline scripts) is not involved.
        page.evaluate(AXE.read_text())
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    found = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert result["passes"], "axe did not run on %s" % screen
    return found


def focused(page):
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("phone", ["iPhone 13"], indirect=True)
def test_focus_moves_to_each_new_screens_heading(phone):
    context, _ = phone
    page = context.new_page()
    open_app(page)
    steps = [
        ("#start", "pick-h"), ("#pick-back", "intro-h"), ("#help-button", "help-h"), ("#help-back", "intro-h"),
        ("#to-status", "status-h"), ("#to-sent", "sent-h"), ("#sent-back", "status-h"), ("#status-back", "intro-h"),
        ("#start", "pick-h"),
    ]
    for button, heading in steps:
        page.click(button)
        page.wait_for_function("(id) => document.activeElement && document.activeElement.id === id", arg=heading)
    pick(page, [PHOTOS / "opencv__apple.jpg"])
    page.click("#to-review")
    assert focused(page) == "review-h"
    page.click("#submit")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'receipt-h'")
    page.go_back()  # asks first: focus goes to the answer that keeps the receipt safe
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'leave-yes'")


@pytest.mark.parametrize("phone", ["Pixel 7"], indirect=True)
def test_progress_and_results_are_announced_politely(phone):
    context, _ = phone
    page = context.new_page()
    open_app(page)
    regions = page.eval_on_selector_all("[role=status]", "els => els.map(e => [e.id, e.getAttribute('aria-live')])")
    assert sorted(regions) == sorted([id_, "polite"] for id_ in (
        "pending-note", "pending-status", "worker-status", "pick-status", "review-status", "receipt-status", "status-status"))
    assert page.locator("[aria-live=assertive], [role=alert]").count() == 0  # nothing interrupts
    page.click("#start")
    page.set_input_files("#files", [str(PHOTOS / "lomiri1604__Wine_by_Jakkub_Mede.jpg")])
    # While a file is worked on, its progress bar carries the file's label as its name.
    page.wait_for_selector("#file-list progress")
    assert page.get_attribute("#file-list progress", "aria-label") == "lomiri1604__Wine_by_Jakkub_Mede.jpg"
    page.wait_for_selector("#file-list li[data-state=done]")
    assert page.inner_text("#pick-status") == "1 of 1 ready"

"""axe-core (from npm, injected by the test) on every screen: no serious or critical violation."""
import pytest

from .conftest import PHOTOS, REPO, open_app, pick

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def serious(page, screen):
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Through DevTools, so the page's CSP (which rightly forbids inline scripts) is not involved.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    found = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert result["passes"], "axe did not run on %s" % screen
    return found


@pytest.mark.parametrize("phone", ["iPhone 13"], indirect=True)
def test_every_screen_passes_axe(phone, tmp_path):
    context, _ = phone
    page = context.new_page()
    open_app(page)
    problems = {}
    problems["intro"] = serious(page, "intro")

    page.click("#start")
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    pick(page, [PHOTOS / "opencv__apple.jpg", tmp_path / "broken.jpg"])
    problems["pick"] = serious(page, "pick")

    page.click("#to-review")
    page.click("#review-list + details summary")
    problems["review"] = serious(page, "review")

    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    problems["receipt"] = serious(page, "receipt")

    page.click("#receipt-check")
    page.click("#check")
    page.wait_for_selector("#case-view:not([hidden])")
    page.click("#withdraw-all")
    problems["status"] = serious(page, "status")

    page.click("#lang")
    assert page.evaluate("() => document.documentElement.lang") == "es"
    problems["status (es)"] = serious(page, "status (es)")

    page.click("#to-sent")
    page.wait_for_selector("#screen-sent:not([hidden])")
    problems["sent (es)"] = serious(page, "sent (es)")

    assert {k: v for k, v in problems.items() if v} == {}

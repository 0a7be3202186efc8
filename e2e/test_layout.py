"""Every screen, in every language, at 320 and 412 px wide, at 100% and 200% text size.

Fails on horizontal scrolling, a control that leaves the viewport, is clipped (its text wider
than its box) or overlaps another control, a touch target under 44 x 44 px, and any axe-core
violation of serious or critical impact (WCAG 2.0-2.2 A and AA, best practice). Text size is
the browser's own setting (Chromium's default font size, as a phone's text-size slider sets it),
not a zoom.
"""
import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the browser fixture uses them)
from .screens import LANGS, set_lang, walk
from .test_accessibility import serious

# The geometry of every visible control, read in the page: boxes, whether one is in a sticky bar
# (the header, the send bar), and whether its text is wider than its box.
GEOMETRY = """() => {
  const sel = 'button, a[href], input:not([type=file]), select, summary, label.button';
  const controls = [...document.querySelectorAll(sel)].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  });
  const sticky = (e) => e.closest('.bar') ? 'bar' : e.closest('.sendbar') ? 'sendbar' : '';
  const name = (e) => (e.id ? '#' + e.id : e.tagName.toLowerCase()) + ' "' + (e.textContent || e.value || '').trim().slice(0, 30) + '"';
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    controls: controls.map((e) => {
      const r = e.getBoundingClientRect();
      return {
        name: name(e), sticky: sticky(e), left: r.left, right: r.right, top: r.top + scrollY,
        bottom: r.bottom + scrollY, w: r.width, h: r.height,
        clipped: e.tagName !== 'SELECT' && e.tagName !== 'INPUT' && e.scrollWidth > e.clientWidth + 1,
      };
    }),
  };
}"""


def layout_problems(page, floating):
    """Problems seen at the current scroll position; `floating` is the sticky bar that is not at
    its own place there (and so may lie over other controls): the send bar at the top of the
    page, the header at the bottom."""
    g = page.evaluate(GEOMETRY)
    # The phone's width, not innerWidth: a phone browser widens its layout viewport to fit content
    # that is too wide (and zooms out), so innerWidth would grow with the very fault looked for.
    g["width"] = page.viewport_size["width"]
    problems = []
    if g["scrollWidth"] > g["width"] or g["innerWidth"] > g["width"]:
        problems.append("scrolls sideways: %d > %d px" % (max(g["scrollWidth"], g["innerWidth"]), g["width"]))
    boxes = g["controls"]
    for c in boxes:
        if c["left"] < -0.5 or c["right"] > g["width"] + 0.5:
            problems.append("%s leaves the viewport (%.0f..%.0f)" % (c["name"], c["left"], c["right"]))
        if c["w"] < 43.5 or c["h"] < 43.5:
            problems.append("%s is %.0f x %.0f px" % (c["name"], c["w"], c["h"]))
        if c["clipped"]:
            problems.append("%s is clipped" % c["name"])
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["sticky"] != b["sticky"] and floating in (a["sticky"], b["sticky"]):
                continue
            if min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and \
                    min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5:
                problems.append("%s overlaps %s" % (a["name"], b["name"]))
    return problems


CONFIGS = [(320, 1), (320, 2), (412, 1), (412, 2)]


@pytest.mark.parametrize("width,text", CONFIGS, ids=["320px-100%", "320px-200%", "412px-100%", "412px-200%"])
def test_every_screen_every_language(browser, server, width, text, tmp_path):
    context = browser.new_context(
        base_url=server, viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True,
        device_scale_factor=2, locale="en-US",
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    if text != 1:
        cdp = context.new_cdp_session(page)
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16 * text, "fixed": 13 * text}})
    found = {}

    def visit(screen):
        for code in LANGS:
            set_lang(page, code)
            if screen == "help":
                page.wait_for_function("() => document.querySelector('#help-platforms li')")
            page.evaluate("() => window.scrollTo(0, 0)")
            problems = layout_problems(page, "sendbar")
            page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
            problems += layout_problems(page, "bar")
            problems += ["axe: %s (%s) %s" % v for v in serious(page, "%s %s" % (screen, code))]
            if problems:
                found["%s/%s" % (screen, code)] = sorted(set(problems))
        set_lang(page, "en")

    try:
        walk(page, visit, tmp_path / "broken.jpg")
        if text != 1:  # the setting took: the root's text is twice the default
            assert page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") == 16 * text
    finally:
        context.close()
    assert found == {}, "\n".join("%s: %s" % (k, v) for k, v in list(found.items())[:30])

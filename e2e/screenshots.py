"""`make screenshots`: docs/screenshots/<lang>-<n>-<screen>.png, every screen in English and
Arabic on a 360-pixel-wide phone (whole pages), from the real app on a throwaway server."""
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from e2e.bench_web import serve
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, REPO
from e2e.screens import SCREENS, set_lang, walk

OUT = REPO / "docs" / "screenshots"


def main(langs=("en", "ar")):
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        httpd, base = serve(tmp)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for code in langs:
                context = browser.new_context(
                    base_url=base, viewport={"width": 360, "height": 640}, device_scale_factor=1,
                    is_mobile=True, has_touch=True, locale=code,
                )
                page = context.new_page()

                def visit(screen):
                    if page.evaluate("() => document.documentElement.lang") != code:
                        set_lang(page, code)
                    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky bars where a person first sees them
                    path = OUT / ("%s-%d-%s.png" % (code, SCREENS.index(screen) + 1, screen))
                    page.screenshot(path=str(path), full_page=True)
                    print(path.relative_to(REPO))

                walk(page, visit, Path(tmp) / "broken.jpg")
                context.close()
        finally:
            browser.close()
            httpd.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:] or ("en", "ar"))

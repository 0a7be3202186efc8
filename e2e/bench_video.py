"""`make bench-video`: seconds of work per minute of video, in the browser and on the server.

Figures, not pass/fail. One 2-minute 720p H.264 clip (bench.video.make_clip) is hashed
by `takeback hash`'s code (PyAV + CPython: the server half, with two corpus videos) and by the
real app in headless Debian Chromium on the Pixel 7 profile (the browser half: seek + draw on
the page, PDQ and block hash of each frame and the digests in the Pyodide worker). Target: <= 30 s in the browser.
"""
import pathlib
import tempfile

from playwright.sync_api import sync_playwright

from e2e.bench_web import serve
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, new_context
from bench.video import make_clip, server_table

RUNS = 2


def browser_half(base, clip, duration=120.0):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        print("\nBrowser (the app in headless Chromium, Pixel 7 profile), %s, seconds" % clip.name)
        print("| run | frames kept | page waiting for frames (seek + draw, beyond the overlap) | total | per minute of video |")
        print("| --- | --- | --- | --- | --- |")
        for run in range(1, RUNS + 1):
            context, _ = new_context(browser, p, base, "Pixel 7")
            page = context.new_page()
            page.goto("/")
            page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=120_000)
            page.click("#start")
            page.set_input_files("#files", str(clip))
            page.wait_for_selector("#file-list li[data-state=done]", timeout=600_000)
            total = int(page.get_attribute("#file-list li", "data-ms")) / 1000
            seek = int(page.get_attribute("#file-list li", "data-seek-ms")) / 1000
            page.click("#to-review")
            frames = page.evaluate("() => JSON.parse(document.querySelector('#review-list li').dataset.times).length")
            print("| %d | %d | %.2f | %.2f | %.2f |" % (run, frames, seek, total, total * 60 / duration))
            context.close()
        browser.close()
    print("Target: a 2-minute 720p video in <= 30 s in the browser. Two <video>s seek in turn while the "
          "worker hashes; the rest of the total is hashing (PDQ and block hash of each frame in Pyodide) and the digests.")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        clip = pathlib.Path(tmp) / "pan-720p-2min.mp4"
        make_clip(clip)
        server_table(clip)
        httpd, base = serve(tmp)
        try:
            browser_half(base, clip)
        finally:
            httpd.shutdown()


if __name__ == "__main__":
    from bench import measured_on

    print(measured_on())
    main()

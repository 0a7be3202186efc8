"""What the app does where an engine lacks something it uses (older Safari), proven by taking
those things away in Chromium: the records are the very same as with them.

- No OffscreenCanvas (Safari before 16.4): photos and video frames are drawn on a <canvas> that
  is never shown.
- createImageBitmap refusing the option value "from-image" (an engine older than that value):
  decoded again without it, with the engine's default orientation, the EXIF one.
- No requestVideoFrameCallback (Safari before 15.4): a frame is drawn once `seeked` fires.
- No service worker: the app works, only not offline.
"""
from .conftest import CORPUS, PHOTOS, new_context, open_app, pick, review_entries
from .test_video import make_video

WITHOUT = """(() => {
  window.fallbacks = {refused: 0};
  delete window.OffscreenCanvas;
  delete HTMLVideoElement.prototype.requestVideoFrameCallback;
  delete Navigator.prototype.serviceWorker;
  const real = window.createImageBitmap;
  window.createImageBitmap = function (source, ...rest) {
    const options = rest[rest.length - 1];
    if (options && options.imageOrientation === "from-image") {
      window.fallbacks.refused++;
      return Promise.reject(new TypeError("'from-image' is not a valid value for enumeration ImageOrientation"));
    }
    return real.call(this, source, ...rest);
  };
})();"""


def hashed(context, files):
    page = context.new_page()
    open_app(page)
    page.click("#start")
    pick(page, files)
    page.click("#to-review")
    return page, review_entries(page)


def test_without_offscreen_canvas_or_from_image_the_records_are_the_same(browser, playwright, server, tmp_path):
    files = sorted((CORPUS / "pdq-reference" / "exif-rotn").glob("*.jpg"))
    files += [PHOTOS / "opencv__graf1.png", make_video(tmp_path / "clip.mp4", "libx264", seconds=4)]
    usual, _ = new_context(browser, playwright, server)
    older, _ = new_context(browser, playwright, server)
    older.add_init_script(WITHOUT)
    try:
        _, expected = hashed(usual, files)
        page, entries = hashed(older, files)
        assert page.evaluate("() => [typeof OffscreenCanvas, 'serviceWorker' in navigator]") == ["undefined", False]
        assert page.evaluate("() => window.fallbacks.refused") == len(files) - 1  # every photo, not the video
        assert [name for name, _ in entries] == [f.name for f in files]
        assert entries == expected
    finally:
        usual.close()
        older.close()


def test_a_worker_that_cannot_start_says_so(browser, playwright, server):
    """Where the hashing worker cannot run (an engine without module workers, a blocked script),
    the page says so plainly instead of waiting for ever."""
    context, _ = new_context(browser, playwright, server)
    context.route("**/assets/worker-*.js", lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_function("() => document.documentElement.dataset.worker === 'failed'")
        assert "This browser could not start. Try an up-to-date browser." in page.inner_text("body")
    finally:
        context.close()

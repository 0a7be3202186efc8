"""Files dropped on the pick screen take the picker's path: the same records as picking them.
(WebKit's tests give files to the page this way: its automation cannot fill a file input.)"""
import base64

from .conftest import PHOTOS, open_app, pick, review_entries

FILES = [PHOTOS / "opencv__chicky_512.png", PHOTOS / "mate__Aqua.jpg"]
DROP = """([files, where]) => {
  const transfer = new DataTransfer();
  for (const [name, data] of files) transfer.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name));
  for (const type of ["dragenter", "dragover", "drop"]) {
    document.querySelector(where).dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
  }
}"""


def drop(page, paths, where="#screen-pick"):
    page.evaluate(DROP, [[[p.name, base64.b64encode(p.read_bytes()).decode()] for p in paths], where])


def test_dropped_files_are_hashed_as_picked_ones(phone):
    context, _ = phone
    picked, dropped = context.new_page(), context.new_page()
    for page in (picked, dropped):
        open_app(page)
        page.click("#start")
    pick(picked, FILES)
    drop(dropped, FILES)
    dropped.wait_for_function("() => document.querySelectorAll('#file-list li[data-state=done]').length === 2")
    for page in (picked, dropped):
        page.click("#to-review")
    assert review_entries(dropped) == review_entries(picked)
    assert [name for name, _ in review_entries(dropped)] == [p.name for p in FILES]


def test_a_drop_outside_the_pick_screen_adds_nothing(phone):
    context, _ = phone
    page = context.new_page()
    open_app(page)
    drop(page, FILES[:1], where="#screen-intro")  # the first screen: not the place to choose
    page.click("#start")
    page.wait_for_timeout(300)
    assert page.locator("#file-list li").count() == 0

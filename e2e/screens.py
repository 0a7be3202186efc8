"""A walk through every screen of the app, shared by the layout test and `make screenshots`.

walk(page, visit) drives one phone through the whole flow on the real server: the first screen,
choosing a photo (and a broken file), the review, the receipt (and its "have you saved it?"
question), the case's status with a withdrawal to confirm, help, "what was sent",
and last the first screen again with a hashed photo not yet sent (the banner that offers to
send it). At each screen it calls visit(name) with the screen as a person would see it then.
"""
from .conftest import PHOTOS, open_app, pick

SCREENS = ["intro", "pick", "review", "receipt", "receipt-leave", "status", "help", "sent", "intro-pending"]
LANGS = ["en", "es", "fr", "pt-BR", "de", "it", "pl", "ar", "hi", "uk"]


def set_lang(page, code):
    """Chooses a language with the switcher and waits until the page shows it."""
    page.select_option("#lang", code)
    page.wait_for_function("(code) => document.documentElement.lang === code", arg=code)


def walk(page, visit, broken_file):
    page.on("dialog", lambda dialog: dialog.accept())  # "leave this page?" before the last step
    open_app(page)
    visit("intro")

    page.click("#start")
    broken_file.write_bytes(b"not a photo")
    pick(page, [PHOTOS / "opencv__apple.jpg", broken_file])
    visit("pick")

    page.click("#to-review")
    page.wait_for_selector("#screen-review:not([hidden])")
    visit("review")

    page.click("#submit")
    page.wait_for_selector("#screen-receipt:not([hidden])")
    visit("receipt")
    page.click("#receipt-done")
    page.wait_for_selector("#leave:not([hidden])")
    visit("receipt-leave")
    page.click("#leave-no")

    page.click("#receipt-check")
    page.click("#check")
    page.wait_for_selector("#case-view:not([hidden])")
    page.click("#withdraw-all")
    visit("status")
    page.click("#confirm-no")

    page.click("#help-button")
    page.wait_for_selector("#help-services li, #help-note:not(:empty)")
    page.wait_for_selector("#help-platforms li")
    visit("help")

    page.click("#to-sent")
    page.wait_for_selector("#screen-sent:not([hidden])")
    visit("sent")

    page.goto("/?again")  # a new entry of the same tab: the first screen
    page.wait_for_function("() => document.documentElement.dataset.worker === 'ready'", timeout=60_000)
    page.click("#start")
    pick(page, [PHOTOS / "mate__Aqua.jpg"])
    page.click("#pick-back")
    page.wait_for_selector("#pending-send:not([hidden])")
    visit("intro-pending")

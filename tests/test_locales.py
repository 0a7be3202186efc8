"""The app's ten languages: every key translated, the same placeholders, nothing left in English.

Reads frontend/src/locales/*.json (the tables the app loads) and frontend/src/i18n.ts (the list
of languages the switcher offers and their own names).
"""
import json
import re
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parent.parent / "frontend" / "src" / "locales"
I18N = LOCALES.parent / "i18n.ts"


def table(code):
    """A language's whole table: the app's words and the help screen's (loaded apart, lazily)."""
    words = json.loads((LOCALES / ("%s.json" % code)).read_text(encoding="utf-8"))
    help_words = json.loads((LOCALES / "help" / ("%s.json" % code)).read_text(encoding="utf-8"))
    assert not set(words) & set(help_words)
    assert all(k.startswith(("help.", "faq.")) for k in help_words) and not any(k.startswith(("help.", "faq.")) for k in words)
    return {**words, **help_words}


EN = table("en")
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# English words that are also the right word in a language: the brand, and "PIN" where that
# is the everyday word for a card's code.
SAME_AS_ENGLISH = {"brand"}
PIN_WORD = {"receipt.pin", "status.pin"}
PIN_LANGS = {"es", "fr", "pt-BR", "de", "it", "pl"}
# Words spelled as in English: Spanish, German and Italian "Video", French "Photo", "Date" and "Questions".
COGNATES = {("es", "media.video"), ("de", "media.video"), ("it", "media.video"), ("fr", "media.image"), ("fr", "receipt.date"),
            ("fr", "help.faq.h")}


def app_languages():
    source = I18N.read_text(encoding="utf-8")
    return re.findall(r'"([a-z]{2}(?:-[A-Z]{2})?)"', re.search(r"LANGS = \[(.*?)\]", source).group(1))


LANGS = app_languages()
OTHERS = [code for code in LANGS if code != "en"]


def test_ten_languages_one_right_to_left():
    assert len(LANGS) == 10 and LANGS[0] == "en"
    assert {"es", "fr", "pt-BR", "de", "it", "pl", "ar", "hi"} <= set(LANGS)
    assert sorted(p.stem for p in LOCALES.glob("*.json")) == sorted(LANGS)
    assert sorted(p.stem for p in (LOCALES / "help").glob("*.json")) == sorted(LANGS)
    assert re.search(r'RTL[^=]*= new Set\(\["ar"\]\)', I18N.read_text(encoding="utf-8"))


@pytest.mark.parametrize("code", OTHERS)
def test_every_key_translated_with_the_same_placeholders(code):
    other = table(code)
    assert sorted(other) == sorted(EN), "missing: %s; extra: %s" % (sorted(set(EN) - set(other)), sorted(set(other) - set(EN)))
    for key, english in EN.items():
        text = other[key]
        assert isinstance(text, str) and text.strip(), "%s: %s is empty" % (code, key)
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english)), "%s: %s placeholders" % (code, key)
        assert text.count("\n") == english.count("\n"), "%s: %s line breaks" % (code, key)
        allowed = key in SAME_AS_ENGLISH or (key in PIN_WORD and code in PIN_LANGS) or (code, key) in COGNATES
        assert allowed or text != english, "%s: %s is left in English: %r" % (code, key, text)


@pytest.mark.parametrize("code", OTHERS)
def test_no_english_sentence_left_inside_a_translation(code):
    # A value that keeps a whole English sentence next to translated words would pass the test
    # above; long English phrases of 4+ words must not appear in other languages' values.
    other = table(code)
    phrases = set()
    for english in EN.values():
        words = re.findall(r"[A-Za-z']+", PLACEHOLDER.sub(" ", english))
        phrases |= {" ".join(words[i:i + 4]).lower() for i in range(len(words) - 3)}
    found = [
        (key, text) for key, text in other.items()
        if any(p in " ".join(re.findall(r"[A-Za-z']+", text)).lower() for p in phrases)
    ]
    assert found == []


def test_each_language_names_itself_as_the_switcher_does():
    switcher = re.search(r"NAMES[^{]*\{(.*?)\};", I18N.read_text(encoding="utf-8"), re.S).group(1)
    names = dict(re.findall(r'"?([a-z]{2}(?:-[A-Z]{2})?)"?: "([^"]+)"', switcher))
    for code in LANGS:
        assert table(code)["lang.name"] == names[code]

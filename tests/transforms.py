"""Edited copies of a photo, made the way people edit photos before reposting them.

`make eval-robustness` (bench/robustness.py) measures how many of these copies still
match the photo they came from. Each transformation is a Transform: a family, a name, the
JPEG quality the copy is saved at, and a function (image, rng, donor) -> image that takes
and returns a Pillow RGB image. `rng` is a random.Random seeded per (photo, transformation),
so every run makes the same copies; `donor` is another photo, the source of stickers cut
from a different picture. Saving, reloading and hashing are the caller's job.

Fonts: DejaVu (captions, labels, the screenshot's status bar) and Noto Color Emoji (Debian's
fonts-noto-color-emoji) for the emoji overlays.
"""
import functools
import math
import pathlib
import random
from typing import Callable, NamedTuple

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

FONTS = pathlib.Path("/usr/share/fonts/truetype")
BOLD_FONT = FONTS / "dejavu" / "DejaVuSans-Bold.ttf"
REGULAR_FONT = FONTS / "dejavu" / "DejaVuSans.ttf"
EMOJI_FONT = FONTS / "noto" / "NotoColorEmoji.ttf"
# NotoColorEmoji is a CBDT bitmap font: its glyphs exist at this one size only.
EMOJI_FONT_SIZE = 109

DEFAULT_QUALITY = 90

EMOJI = ["\U0001F600", "\U0001F602", "\U0001F60D", "\U0001F60E", "\U0001F618", "\U0001F648", "\U0001F525",
         "\U0001F4AF", "\U0001F44D", "\u2764\ufe0f", "\u2b50", "\U0001F338", "\U0001F351", "\U0001F48B",
         "\U0001F389", "\U0001F47B"]
STICKER_LABELS = ["SALE", "NEW!", "@me", "lol", "OMG", "#1", "wow", "xoxo", "LIKE"]
TOP_CAPTIONS = ["WHEN YOU SEE IT", "NOBODY:", "ME AT 3AM", "GUESS WHO", "LOOK AT THIS", "SO THIS HAPPENED"]
BOTTOM_CAPTIONS = ["CAN'T UNSEE", "TAG A FRIEND", "SEND IT TO EVERYONE", "NO CONTEXT", "YOU KNOW WHO",
                   "SHE HAS NO IDEA"]

# A phone screenshot (portrait, 1080 x 2340 pixels) and its strips of interface.
SCREEN = (1080, 2340)
STATUS_BAR = 110
TOOLBAR = 140
ACTION_BAR = 190
NAV_BAR = 70
THEMES = {"dark": ((18, 18, 18), (236, 236, 236)), "light": ((250, 250, 250), (24, 24, 24))}


class Transform(NamedTuple):
    family: str
    name: str
    fn: Callable  # (image, rng, donor) -> image
    quality: int = DEFAULT_QUALITY

    def apply(self, image, seed, donor=None):
        """The edited copy of `image` for this seed (a string such as "photo/transform")."""
        return self.fn(image.convert("RGB"), random.Random(seed), donor).convert("RGB")


def font(path, size):
    return ImageFont.truetype(str(path), max(1, round(size)))


# --- re-encoding and resizing -------------------------------------------------------------

def identity(im, rng, donor):
    return im


def scale(im, rng, donor, factor):
    # Bicubic, as apps and browsers commonly downscale.
    return im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))), Image.BICUBIC)


# --- crops -------------------------------------------------------------------------------

def crop_box(size, keep_w, keep_h, rng=None):
    """A box keeping fractions keep_w x keep_h of each side: centred, or at a random position (rng)."""
    w, h = size
    cw, ch = max(1, round(w * keep_w)), max(1, round(h * keep_h))
    if rng is None:
        x, y = (w - cw) // 2, (h - ch) // 2
    else:
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return x, y, x + cw, y + ch


def crop(im, rng, donor, removed, where):
    """Removes `removed` (0-1) of the area. centred and off-centre keep the aspect ratio; aspect
    takes most of it from one side (up to all of it), so the copy's shape changes."""
    keep = 1 - removed
    if where == "aspect":
        t = rng.uniform(0, 0.25)  # 0: only one side is cut; 0.5 would keep the aspect ratio
        keep_w, keep_h = keep ** t, keep ** (1 - t)
        if rng.random() < 0.5:
            keep_w, keep_h = keep_h, keep_w
    else:
        keep_w = keep_h = math.sqrt(keep)
    return im.crop(crop_box(im.size, keep_w, keep_h, None if where == "centred" else rng))


# --- overlays ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def emoji_glyph(char):
    """RGBA image of the emoji, cropped to it, at the font's one size."""
    f = font(EMOJI_FONT, EMOJI_FONT_SIZE)
    left, top, right, bottom = f.getbbox(char)
    glyph = Image.new("RGBA", (right + 8, bottom + 8), (0, 0, 0, 0))
    ImageDraw.Draw(glyph).text((0, 0), char, font=f, embedded_color=True)
    return glyph.crop(glyph.getchannel("A").getbbox())


def covered_pixels(rgba):
    """Pixels an RGBA overlay changes: every one not fully transparent."""
    return rgba.size[0] * rgba.size[1] - rgba.getchannel("A").histogram()[0]


def scaled_glyph(char, pixels):
    """The emoji scaled so that it covers about `pixels` pixels (two steps: the anti-aliased
    edge grows the covered area of a small glyph more than that of a large one)."""
    glyph = emoji_glyph(char)
    s, out = 1.0, glyph
    for _ in range(2):
        s *= math.sqrt(pixels / covered_pixels(out))
        out = glyph.resize((max(1, round(glyph.width * s)), max(1, round(glyph.height * s))), Image.LANCZOS)
    return out


def place(rng, size, boxes, w, h, tries=200):
    """A random position for a w x h box inside `size`, not overlapping `boxes` if possible."""
    for _ in range(tries):
        x, y = rng.randint(0, size[0] - w), rng.randint(0, size[1] - h)
        if all(x + w <= a or a + bw <= x or y + h <= b or b + bh <= y for a, b, bw, bh in boxes):
            break
    boxes.append((x, y, w, h))
    return x, y


def emoji(im, rng, donor, share):
    """1-3 emoji that together cover `share` of the image, at random positions, not overlapping.

    A glyph too large for the image is split into more, smaller ones.
    """
    im = im.copy()
    count = rng.choice([1, 2, 3])
    chars = [rng.choice(EMOJI) for _ in range(6)]
    while True:
        glyphs = [scaled_glyph(char, share * im.width * im.height / count) for char in chars[:count]]
        if all(g.width <= im.width and g.height <= im.height for g in glyphs) or count == len(chars):
            break
        count += 1
    boxes = []
    for g in glyphs:
        im.paste(g, place(rng, im.size, boxes, g.width, g.height), g)
    return im


def patch_size(rng, size, share, max_aspect):
    """(w, h) of a rectangle covering `share` of `size`, aspect between 1 and max_aspect (either way)."""
    area = share * size[0] * size[1]
    aspect = rng.uniform(1, max_aspect)
    if rng.random() < 0.5:
        aspect = 1 / aspect
    w = min(size[0], max(1, round(math.sqrt(area * aspect))))
    h = min(size[1], max(1, round(area / w)))
    return w, h


def sticker(im, rng, donor, share):
    """A flat-coloured rounded rectangle with a short label, covering `share` of the image.

    The rounded corners leave under 2% of the sticker uncovered, so the share holds within 0.4%.
    """
    im = im.copy()
    w, h = patch_size(rng, im.size, share, 2.5)
    x, y = place(rng, im.size, [], w, h)
    colour = tuple(rng.randint(0, 255) for _ in range(3))
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    draw = ImageDraw.Draw(im)
    draw.rounded_rectangle((x, y, x + w - 1, y + h - 1), radius=0.15 * min(w, h), fill=colour)
    label = rng.choice(STICKER_LABELS)
    probe = font(BOLD_FONT, 100).getbbox(label)
    size = 100 * min(0.7 * w / (probe[2] - probe[0]), 0.5 * h / (probe[3] - probe[1]))
    draw.text((x + w / 2, y + h / 2), label, font=font(BOLD_FONT, size), fill=ink, anchor="mm")
    return im


def photo_patch(im, rng, donor, share):
    """A rectangle cut from another photo (`donor`), covering `share` of the image."""
    im = im.copy()
    w, h = patch_size(rng, im.size, share, 1.5)
    if donor.width < w or donor.height < h:
        f = max(w / donor.width, h / donor.height)
        donor = donor.resize((math.ceil(donor.width * f), math.ceil(donor.height * f)), Image.BICUBIC)
    dx, dy = rng.randint(0, donor.width - w), rng.randint(0, donor.height - h)
    im.paste(donor.convert("RGB").crop((dx, dy, dx + w, dy + h)), place(rng, im.size, [], w, h))
    return im


# --- captions ----------------------------------------------------------------------------

def fitted_font(path, text, width, height):
    """The font at the largest size whose `text` fits in width x height pixels."""
    left, top, right, bottom = font(path, 100).getbbox(text)
    return font(path, 100 * min(width / (right - left), height / (bottom - top)))


def meme(im, rng, donor):
    """White bold text with a black outline over the top and the bottom of the photo, one short
    line each, about 90% of the width (each at most an eighth of the height, so the middle
    of the photo is left alone)."""
    im = im.copy()
    draw = ImageDraw.Draw(im)
    margin = 0.03 * im.height
    for text, y, anchor in ((rng.choice(TOP_CAPTIONS), margin, "mt"),
                            (rng.choice(BOTTOM_CAPTIONS), im.height - margin, "mb")):
        f = fitted_font(BOLD_FONT, text, 0.9 * im.width, im.height / 8)
        draw.text((im.width / 2, y), text, font=f, fill="white", anchor=anchor,
                  stroke_width=max(1, round(f.size / 14)), stroke_fill="black")
    return im


def caption_bars(im, rng, donor):
    """A white bar with black text above and below the photo, each 10-20% of its height."""
    top, bottom = (round(rng.uniform(0.10, 0.20) * im.height) for _ in range(2))
    out = Image.new("RGB", (im.width, im.height + top + bottom), "white")
    out.paste(im, (0, top))
    draw = ImageDraw.Draw(out)
    for text, y0, bar in ((rng.choice(TOP_CAPTIONS), 0, top), (rng.choice(BOTTOM_CAPTIONS), top + im.height, bottom)):
        f = fitted_font(BOLD_FONT, text.capitalize(), 0.9 * im.width, 0.5 * bar)
        draw.text((im.width / 2, y0 + bar / 2), text.capitalize(), font=f, fill="black", anchor="mm")
    return out


# --- rotations ---------------------------------------------------------------------------

def transpose(im, rng, donor, method):
    return im.transpose(method)


def rotate_small(im, rng, donor, degrees, mode):
    """Rotates by `degrees` (counter-clockwise when positive). mode "expand": the whole rotated
    photo on a black canvas; "crop": then cut to the largest centred rectangle of the original
    aspect ratio that holds no corner, as phone editors do."""
    rotated = im.rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    if mode == "expand":
        return rotated
    w, h = im.size
    a = math.radians(abs(degrees))
    s = min(w / (w * math.cos(a) + h * math.sin(a)), h / (w * math.sin(a) + h * math.cos(a)))
    # 2 pixels less on each side keep the interpolated edge out.
    cw, ch = math.floor(s * w) - 4, math.floor(s * h) - 4
    x, y = (rotated.width - cw) // 2, (rotated.height - ch) // 2
    return rotated.crop((x, y, x + cw, y + ch))


# --- borders and screenshots ---------------------------------------------------------------

def border(im, rng, donor, colour):
    """A uniform border, 5-15% of the shorter side thick, on all four sides."""
    return ImageOps.expand(im, border=round(rng.uniform(0.05, 0.15) * min(im.size)), fill=colour)


def screenshot(im, rng, donor, theme):
    """The photo as a phone shows it: scaled into a 1080 x 2340 screen between a status bar
    (time, signal, battery) and toolbar at the top and an action bar and navigation bar below."""
    background, ink = THEMES[theme]
    out = Image.new("RGB", SCREEN, background)
    draw = ImageDraw.Draw(out)
    width, height = SCREEN
    small = font(REGULAR_FONT, 38)
    # Status bar: time on the left; signal bars, battery level and icon on the right.
    draw.text((50, STATUS_BAR / 2), "%d:%02d" % (rng.randint(1, 12), rng.randint(0, 59)), font=small,
              fill=ink, anchor="lm")
    for k in range(4):
        draw.rectangle((width - 330 + 16 * k, 70 - 10 * (k + 1), width - 322 + 16 * k, 70), fill=ink)
    draw.text((width - 150, STATUS_BAR / 2), "%d%%" % rng.randint(5, 100), font=small, fill=ink, anchor="rm")
    draw.rounded_rectangle((width - 130, 38, width - 62, 72), radius=6, outline=ink, width=3)
    draw.rectangle((width - 125, 43, width - 125 + rng.randint(10, 58), 67), fill=ink)
    # Toolbar: a back arrow and a title.
    y = STATUS_BAR + TOOLBAR / 2
    draw.line((50, y, 80, y - 30, 50, y, 80, y + 30), fill=ink, width=6)
    draw.text((120, y), rng.choice(["Photo", "Messages", "Chat", "Gallery"]), font=font(BOLD_FONT, 46),
              fill=ink, anchor="lm")
    # The photo, scaled to the width (or the height between the bars), centred between them.
    top, bottom = STATUS_BAR + TOOLBAR, height - ACTION_BAR - NAV_BAR
    f = min(width / im.width, (bottom - top) / im.height)
    shown = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.BICUBIC)
    out.paste(shown, ((width - shown.width) // 2, top + (bottom - top - shown.height) // 2))
    # Action bar: five round buttons; navigation bar: the home pill.
    y = bottom + ACTION_BAR / 2
    for k in range(5):
        x = width * (k + 0.5) / 5
        draw.ellipse((x - 32, y - 32, x + 32, y + 32), outline=ink, width=5)
    y = height - NAV_BAR / 2
    draw.rounded_rectangle((width / 2 - 140, y - 6, width / 2 + 140, y + 6), radius=6, fill=ink)
    return out


# --- filters -----------------------------------------------------------------------------

SEPIA = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)


def greyscale(im, rng, donor):
    return ImageOps.grayscale(im).convert("RGB")


def sepia(im, rng, donor):
    return im.convert("RGB", SEPIA)


def enhance(im, rng, donor, kind, factor):
    return kind(im).enhance(factor)


# --- combinations ------------------------------------------------------------------------

def chain(*steps):
    """The steps one after another, with the same rng."""
    def apply(im, rng, donor):
        for step in steps:
            im = step(im, rng, donor)
        return im
    return apply


def p(fn, **kwargs):
    return functools.partial(fn, **kwargs)


def _transforms():
    out = []
    for q in (20, 50, 90):
        out.append(Transform("re-encoding", "jpeg q%d" % q, identity, q))
    for f in (0.25, 0.5):
        out.append(Transform("resizing", "scale %d%%" % (100 * f), p(scale, factor=f)))
    for colour in ("white", "black"):
        out.append(Transform("borders/screenshot", "border %s" % colour, p(border, colour=colour)))
    for theme in THEMES:
        out.append(Transform("borders/screenshot", "screenshot %s" % theme, p(screenshot, theme=theme)))
    for name, method in (("rotate 90", Image.ROTATE_90), ("rotate 180", Image.ROTATE_180),
                         ("rotate 270", Image.ROTATE_270), ("mirror", Image.FLIP_LEFT_RIGHT),
                         ("flip vertical", Image.FLIP_TOP_BOTTOM)):
        out.append(Transform("rotations/flips", name, p(transpose, method=method)))
    for degrees in (2, 3, 5):
        for sign in (1, -1):
            for mode in ("crop", "expand"):
                out.append(Transform("small rotations", "rotate %+d° %s" % (sign * degrees, mode),
                                     p(rotate_small, degrees=sign * degrees, mode=mode)))
    for removed in (10, 20, 30, 40):
        family = "crops <=30%" if removed <= 30 else "crops 40%"
        for where in ("centred", "off-centre", "aspect"):
            out.append(Transform(family, "crop %d%% %s" % (removed, where),
                                 p(crop, removed=removed / 100, where=where)))
    for kind, fn in (("emoji", emoji), ("sticker", sticker), ("photo patch", photo_patch)):
        for share in (5, 10, 20):
            out.append(Transform("overlays <=20%", "%s %d%%" % (kind, share), p(fn, share=share / 100)))
    out.append(Transform("captions", "meme caption", meme))
    out.append(Transform("captions", "caption bars", caption_bars))
    out += [
        Transform("filters", "greyscale", greyscale),
        Transform("filters", "sepia", sepia),
        Transform("filters", "contrast +30%", p(enhance, kind=ImageEnhance.Contrast, factor=1.3)),
        Transform("filters", "brightness -20%", p(enhance, kind=ImageEnhance.Brightness, factor=0.8)),
        Transform("filters", "saturation +50%", p(enhance, kind=ImageEnhance.Color, factor=1.5)),
    ]
    crop10, crop20 = (p(crop, removed=r, where="off-centre") for r in (0.1, 0.2))
    out += [
        Transform("combinations", "crop 20% + meme caption", chain(crop20, meme)),
        Transform("combinations", "crop 10% + emoji 10% + jpeg q50", chain(crop10, p(emoji, share=0.1)), 50),
        Transform("combinations", "mirror + crop 20%", chain(p(transpose, method=Image.FLIP_LEFT_RIGHT), crop20)),
        Transform("combinations", "screenshot of crop 20%", chain(crop20, p(screenshot, theme="dark"))),
        Transform("combinations", "rotate +3° crop + jpeg q70", p(rotate_small, degrees=3, mode="crop"), 70),
    ]
    return out


TRANSFORMS = _transforms()
FAMILIES = list(dict.fromkeys(t.family for t in TRANSFORMS))


def tiles(im, seed):
    """[(name, tile)]: the 4 quarters, the 9 ninths and 3 random windows of 30-50% of the area.

    Pieces of a photo are the likeliest innocent look-alikes of another photo's crops.
    """
    rng = random.Random(seed)
    out = []
    for n, label in ((2, "quarter"), (3, "ninth")):
        for row in range(n):
            for col in range(n):
                box = (im.width * col // n, im.height * row // n, im.width * (col + 1) // n, im.height * (row + 1) // n)
                out.append(("%s %d" % (label, row * n + col + 1), im.crop(box)))
    for k in range(3):
        keep = rng.uniform(0.3, 0.5)
        t = rng.uniform(0.3, 0.7)
        out.append(("window %d" % (k + 1), im.crop(crop_box(im.size, keep ** t, keep ** (1 - t), rng))))
    return out

"""The robust hashes (hashing.robust and the modules it composes): the content box
(hashing.borders), the block hashes (hashing.blockhash), the keypoint pairs of each side
(hashing.keypoints) and their block hashes, and the window hashes' mirror choice."""
import math
import random

import pytest
from PIL import Image, ImageDraw

from hashing import Pixels, enrol_hashes, query_hashes
from hashing.hashvalue import HashValue
from hashing.match import BLOCKS_MATCH_DISTANCE, PAIR_BLOCKS_MATCH_DISTANCE
from hashing.keypoints import SCALE
from hashing import keypoints as kp
from hashing.lanes import pack_lanes
from hashing.pdq import LumaBlocks
from hashing.blockhash import BLOCKS, CELL_SAMPLES, block_bits, pair_block_hash
from hashing.borders import content_box
from hashing.grid import WHOLE, Grid, WindowSamples
from hashing.keypoints import pair_windows, spread_pairs
from hashing.robust import QUERY_PAIRS, in_turn
from hashing.windowhash import mirror_is_canonical, mirror_sum, sampled_hash, window_dct
from tests.corpus import CORPUS
from tests.transforms import BOLD_FONT, fitted_font


@pytest.mark.parametrize("size", [(1024, 768), (4032, 3024)])
def test_content_box_of_a_bordered_photo(size):
    # 12 MP photos are summed in blocks of every other row: the box's edges must still land
    # within one block of the photo's, as they do for a small one.
    with Image.open(CORPUS / "pdq-reference" / "exif-rotn" / "exif-rotn-1.jpg") as im:
        photo = im.convert("RGB").resize(size)
    w, h = size
    bw, bh = w // 10, h // 10
    canvas = Image.new("RGB", (w + 2 * bw, h + 2 * bh), "white")
    canvas.paste(photo, (bw, bh))
    blocks = LumaBlocks(Pixels(canvas.width, canvas.height, canvas.tobytes(), "RGB"))
    found = content_box(Grid(blocks))
    truth = (bw / canvas.width, bh / canvas.height, (bw + w) / canvas.width, (bh + h) / canvas.height)
    tolerance = (2 * blocks.kx / canvas.width, 2 * blocks.ky / canvas.height) * 2
    assert all(abs(f - t) <= tol for f, t, tol in zip(found, truth, tolerance)), (found, truth)


def _content_box(im):
    return content_box(Grid(LumaBlocks(Pixels(im.width, im.height, im.tobytes(), "RGB"))))


def test_content_box_of_caption_bars_with_big_letters():
    # Letters as wide as 90% of the photo (closer to the edges than a text line's margins) and
    # half as tall as their bar leave less than half of some lines white: the bar still goes
    # on over them, to the white line past them.
    with Image.open(CORPUS / "photos" / "opencv__aloeL.jpg") as im:
        photo = im.convert("RGB").resize((1024, 887))
    bar = 140
    canvas = Image.new("RGB", (photo.width, photo.height + 2 * bar), "white")
    canvas.paste(photo, (0, bar))
    draw = ImageDraw.Draw(canvas)
    for text, y in (("Guess who", bar / 2), ("She has no idea", bar + photo.height + bar / 2)):
        draw.text((canvas.width / 2, y), text, font=fitted_font(BOLD_FONT, text, 0.9 * canvas.width, 0.5 * bar),
                  fill="black", anchor="mm")
    top, bottom = _content_box(canvas)[1::2]
    assert abs(top - bar / canvas.height) <= 2 / 128 and abs(bottom - (bar + photo.height) / canvas.height) <= 2 / 128


def test_a_cloud_at_the_edge_of_a_sky_is_no_caption():
    # The bottom of this sky is uniform blue, with a cloud in one corner: the lines through
    # the cloud are partly blue, but a caption's letters leave the bar's colour at both ends.
    with Image.open(CORPUS / "photos" / "plasma__Kite.jpg") as im:
        im = im.convert("RGB")
        im.thumbnail((1024, 1024))
    assert _content_box(im) == WHOLE


def test_enrolled_block_hashes_cover_the_mirror_image():
    # The block hash is taken as the picture is; an enrolled photo also carries its mirror
    # image's, which a mirrored copy's must then be close to (and the first far from).
    im = Image.open(CORPUS / "photos" / "mate__Aqua.jpg").convert("RGB")
    im.thumbnail((1024, 1024))

    def blocks_of(hashes):
        return [r.hash_value() for r in hashes if r.type == "pdq-blocks"]

    as_is, mirrored = blocks_of(enrol_hashes(Pixels(im.width, im.height, im.tobytes(), "RGB")))
    flipped = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    [copy] = blocks_of(query_hashes(Pixels(flipped.width, flipped.height, flipped.tobytes(), "RGB")))
    [same] = blocks_of(query_hashes(Pixels(im.width, im.height, im.tobytes(), "RGB")))
    assert same == as_is and copy - mirrored <= 4
    assert copy - as_is > 2 * BLOCKS_MATCH_DISTANCE


def test_a_query_spreads_its_pairs_over_its_keypoints():
    # Pairs of 4 keypoints, strongest first: spread, each keypoint spans one of the first two
    # windows (an emoji as keypoint 0 spoils one window, not three), then the rest in order.
    pairs = [(i, j, "w%d%d" % (i, j)) for j in range(1, 4) for i in range(j)]
    assert [w for _, _, w in pairs] == ["w01", "w02", "w12", "w03", "w13", "w23"]
    assert [w for _, _, w in spread_pairs(pairs)] == ["w01", "w23", "w02", "w13", "w12", "w03"]
    assert spread_pairs([]) == []


def test_pair_windows_of_each_set_are_taken_in_turn():
    # Two of the first set's, one of the second's, again, until both are used up.
    assert in_turn([["a0", "a1", "a2"], ["b0", "b1"]], [2, 1]) == ["a0", "a1", "b0", "a2", "b1"]
    assert in_turn([[], ["b0"]], [2, 1]) == ["b0"]


def corpus_photo(name, side=640):
    with Image.open(CORPUS / "photos" / name) as f:
        im = f.convert("RGB")
    im.thumbnail((side, side))
    return im


def keypoints_of(im, count, scale):
    return Grid(LumaBlocks(Pixels(im.width, im.height, im.tobytes(), "RGB"))).keypoints(count, scale)


def _extrema_by_definition(values, columns, width, height, count, scale):
    """hashing.keypoints.keypoints the long way: every cell of the band-pass away from the edges
    that is the largest (or smallest) of its neighbourhood and strong enough, strongest first."""
    rows, cols = len(values), len(values[0])
    longer = max(width, height)
    sx, sy = scale * longer * cols / width, scale * longer * rows / height
    fine, coarse = kp.blur(columns, rows, sx, sy), kp.blur(columns, rows, 2 * sx, 2 * sy)
    dog = [[a - b for a, b in zip(f, c)] for f, c in zip(fine, coarse)]
    mx, my, r = int(2 * kp.EDGE * sx) + 1, int(2 * kp.EDGE * sy) + 1, kp.NEIGHBOURHOOD
    found = []
    for y in range(my, rows - my):
        for x in range(mx, cols - mx):
            v = dog[y][x]
            around = [dog[j][i] for j in range(y - r, y + r + 1) for i in range(x - r, x + r + 1)]
            if (v >= kp.MIN_CONTRAST and v == max(around)) or (v <= -kp.MIN_CONTRAST and v == min(around)):
                found.append((-abs(v), y, x))
    out = []
    for _, y, x in sorted(found)[:count]:
        dx = kp.peak_offset(dog[y][x - 1], dog[y][x], dog[y][x + 1])
        dy = kp.peak_offset(dog[y - 1][x], dog[y][x], dog[y + 1][x])
        out.append(((x + 0.5 + dx) / cols, (y + 0.5 + dy) / rows))
    return out


def test_keypoints_are_the_strongest_extrema_by_definition():
    # keypoints() looks only around the strongest cells until it has enough: it must find
    # exactly what testing every cell would, on photos, on a crop and on noise.
    ims = [corpus_photo(name) for name in ("opencv__baboon.jpg", "plasma__ColdRipple.jpg", "mate__Garden.jpg")]
    ims.append(ims[0].crop((30, 80, 500, 400)))
    rng = random.Random(5)
    ims.append(Image.frombytes("L", (320, 200), bytes(rng.randrange(256) for _ in range(64000))).convert("RGB"))
    for im in ims:
        grid = Grid(LumaBlocks(Pixels(im.width, im.height, im.tobytes(), "RGB")))
        values = grid.half_values()
        columns = [pack_lanes(c) for c in zip(*values)]
        for count, scale in ((12, SCALE), (8, 1 / 76), (8, 1 / 54), (200, SCALE)):
            expected = _extrema_by_definition(values, columns, grid.width, grid.height, count, scale)
            assert kp.keypoints(values, columns, grid.width, grid.height, count, scale) == expected


def test_a_crop_finds_the_photos_keypoints_again_at_the_larger_scale():
    # A crop keeping 84% of each side, off-centre, sees the photo's blobs 19% larger: the
    # query's second set of keypoints (found 64/54 larger) lands on the photo's own far more
    # often than its first (found at its own size). Counted within 0.4% of the longer side.
    larger = QUERY_PAIRS[1].scale
    assert larger == pytest.approx(SCALE / 0.84, rel=0.01)
    found = {SCALE: 0, larger: 0}
    for name in ("opencv__baboon.jpg", "mate__Garden.jpg", "mate__LadyBird.jpg", "opencv__building.jpg"):
        im = corpus_photo(name)
        w, h = im.size
        x0, y0 = round(0.04 * w), round(0.12 * h)
        crop = im.crop((x0, y0, x0 + round(0.84 * w), y0 + round(0.84 * h)))
        own = [(x * w, y * h) for x, y in keypoints_of(im, 12, SCALE)]
        for scale in found:
            for x, y in keypoints_of(crop, 8, scale):
                p = (x0 + x * crop.width, y0 + y * crop.height)
                found[scale] += min(math.dist(p, q) for q in own) < 0.004 * max(w, h)
    assert found[larger] > 2 * found[SCALE]


def test_block_bits_are_the_cells_dct_signs_and_means():
    # block_bits sums per-row terms; here each cell's DCT is taken as defined (floats are
    # exact enough for signs on integer samples this far from zero).
    rng = random.Random(5)
    side = BLOCKS * CELL_SAMPLES
    small = [[rng.randrange(1 << 16) for _ in range(side)] for _ in range(side)]
    n = CELL_SAMPLES
    basis = [[math.cos(math.pi / (2 * n) * k * (2 * x + 1)) for x in range(n)] for k in range(2)]
    cells = []
    for cy in range(BLOCKS):
        for cx in range(BLOCKS):
            cell = [row[cx * n:(cx + 1) * n] for row in small[cy * n:(cy + 1) * n]]
            cells.append([sum(basis[v][i] * basis[u][j] * cell[i][j] for i in range(n) for j in range(n))
                          for v in range(2) for u in range(2)])
    median = sorted(c[0] for c in cells)[len(cells) // 2]
    bits = [b for c in cells for b in (c[0] > median, c[1] > 0, c[2] > 0, c[3] > 0)]
    assert block_bits(small) == HashValue.from_bits(bits)
    mirrored = block_bits([row[::-1] for row in small])
    assert block_bits(small, mirrored=True) == mirrored != block_bits(small)


def test_a_pair_blocks_mirror_choice_is_the_window_hashs():
    # The pair block reads the mirror rule as a weighted sum of the samples; it must be the
    # very sum of DCT coefficients canonical_orientation reads, on real windows and on random samples.
    im = corpus_photo("mate__Garden.jpg")
    grid = Grid(LumaBlocks(Pixels(im.width, im.height, im.tobytes(), "RGB")))
    rng = random.Random(7)
    windows = [WHOLE] + pair_windows(grid.keypoints(12), grid.width, grid.height)
    chosen = []
    for window in windows:
        samples = grid.samples(window).rows
        for rows in (samples, [[rng.randrange(1 << 20) for _ in row] for row in samples]):
            dct = window_dct(WindowSamples([pack_lanes(r) for r in rows], rows))
            weighted = mirror_sum(rows)
            assert weighted == sum(dct[i][j] for i in range(8) for j in range(0, 8 - i, 2))
            chosen.append(weighted < 0)
        mirrored = mirror_is_canonical(sampled_hash(grid, window).dct)
        assert pair_block_hash(grid, window).value == block_bits(samples, mirrored)
    assert any(chosen) and not all(chosen)


def best_distance(enrolled, query, kind):
    return min(e.hash_value() - q.hash_value() for e in enrolled for q in query
               if e.type in kind and q.type in kind and not e.weak and not q.weak)


def test_a_stickered_crop_matches_by_the_block_hashes_of_its_pair_windows():
    # A crop of 10% off-centre with a bright disc over 4% of it, and its mirror image: the
    # disc spoils only the cells under it, and each window's block hash is taken as its DCT
    # says its canonical form is. No copy comes that close to another photo's.
    photos = ("mate__Garden.jpg", "opencv__baboon.jpg", "tuxpaint__lighthouse.jpg", "mate__LadyBird.jpg",
              "lomiri1604__Wine_by_Jakkub_Mede.jpg", "opencv__building.jpg", "tuxpaint__cliff.jpg", "mate__Aqua.jpg")
    enrolled, copies = [], []
    for name in photos:
        im = corpus_photo(name)
        enrolled.append(enrol_hashes(Pixels(im.width, im.height, im.tobytes(), "RGB")))
        w, h = im.size
        cw, ch = round(0.95 * w), round(0.95 * h)
        copy = im.crop((w - cw, 0, w, ch))
        r = round(math.sqrt(0.04 * cw * ch / math.pi))
        ImageDraw.Draw(copy).ellipse((cw // 5, ch // 2, cw // 5 + 2 * r, ch // 2 + 2 * r), fill=(250, 210, 40))
        copies.append([query_hashes(Pixels(q.width, q.height, q.tobytes(), "RGB"))
                       for q in (copy, copy.transpose(Image.Transpose.FLIP_LEFT_RIGHT))])
    found = [0, 0]
    for k, pair in enumerate(copies):
        for flip, query in enumerate(pair):
            found[flip] += best_distance(enrolled[k], query, ("pdq-pair-blocks",)) <= PAIR_BLOCKS_MATCH_DISTANCE
            others = [best_distance(e, query, ("pdq-pair-blocks", "pdq-blocks"))
                      for j, e in enumerate(enrolled) if j != k]
            assert min(others) > PAIR_BLOCKS_MATCH_DISTANCE
    assert found[0] >= 6 and found[1] >= 6, found

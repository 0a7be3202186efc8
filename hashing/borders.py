"""Where the picture is: the bars and borders around it, found so that hashes skip them.

Two kinds, two rules, each where its hash needs it:

* A video frame's letterbox and pillarbox bars (trim_borders): whole lines of one flat colour
  at the frame's edges, found on its pixels and cut off before its PDQ (hashing.video), so a
  copy that adds or removes bars still matches.
* A photo's content box (content_box): uniform borders, screenshot padding, status and
  navigation bars and caption bars (a bar with text on it), found on the photo's luma grid
  (hashing.grid) and placed on its finer block grid. The robust hashes take the picture in
  that box as well as the whole image (hashing.robust).
"""
from .grid import GRID, WHOLE, Grid, Window
from .pdq import LUMA_SCALE, SAMPLE_SCALE
from .pixels import Pixels

# trim_borders: a border line is a bar when each colour channel varies by at most this much
# along it: bars are one flat colour, with a little compression noise.
CHANNEL_TOLERANCE = 24
# Never trim more than this share of a side: what is left must still be the picture.
MAX_TRIM_SHARE = 0.4

# content_box, on the luma grid:
LUMA_TOLERANCE = 12 * SAMPLE_SCALE  # a bar line's values are within 12 luma levels of its colour
UNIFORM_SHARE = 0.97  # a uniform bar line: this share of it near the bar's colour
TEXT_SHARE = 0.5  # a line of text on a bar: at least this share near the bar's colour...
MARGIN = GRID // 16  # ...and the bar's colour at both ends
LETTERS_SHARE = 0.25  # a line through a caption's big letters: at least this share near the bar's colour...
LETTERS_MARGIN = GRID // 64  # ...and at both ends (the letters may come closer to the edges than MARGIN)
MAX_BAR = int(GRID * 0.45)  # a phone screenshot of a landscape photo pads a third above and below
MIN_CONTENT = GRID // 4  # grid lines: a box smaller than this each way is no picture
PICTURE_LINES = 4  # this many lines in a row that are no bar line end a bar


def trim_borders(pixels: Pixels) -> Pixels:
    """The pixels without uniform bars at their edges (the same Pixels if there are none)."""
    w, h, c = pixels.width, pixels.height, pixels.channels
    data = pixels.data
    stride = w * c
    colours = min(c, 3)  # alpha is no colour

    def uniform(line):
        return all(max(line[k::c]) - min(line[k::c]) <= CHANNEL_TOLERANCE for k in range(colours))

    def row(y):
        return data[y * stride:(y + 1) * stride]

    def column(x):
        return _column(data, x, c, stride, h)

    def bars(line_at, first, direction, limit):
        """How many lines from `first` on, stepping by `direction`, are uniform (at most limit)."""
        count = 0
        while count < limit and uniform(line_at(first + direction * count)):
            count += 1
        return count

    limit_y, limit_x = int(h * MAX_TRIM_SHARE), int(w * MAX_TRIM_SHARE)
    top = bars(row, 0, 1, limit_y)
    bottom = bars(row, h - 1, -1, limit_y - top)
    left = bars(column, 0, 1, limit_x)
    right = bars(column, w - 1, -1, limit_x - left)
    if not (top or bottom or left or right):
        return pixels
    new_w, new_h = w - left - right, h - top - bottom
    out = bytearray()
    for y in range(top, h - bottom):
        out += data[y * stride + left * c:y * stride + (w - right) * c]
    return Pixels(new_w, new_h, bytes(out), pixels.mode)


def _column(data, x, channels, stride, height):
    """Column x as bytes, channel-interleaved like a row."""
    out = bytearray(height * channels)
    for k in range(channels):
        out[k::channels] = data[x * channels + k::stride][:height]
    return out


def content_box(grid: Grid) -> Window:
    """The picture in an image (its hashing.grid.Grid) without uniform borders, screenshot
    padding, status and navigation bars or caption bars: a window (x0, y0, x1, y1, shares of
    the image); WHOLE when there are none.

    Rows first: a bar row is nearly all one colour, or (text on a bar: a status bar, a
    caption) has that colour at both ends and over half its length. Then columns, over
    the rows left: only uniform ones (a picture's side is never text on a bar). Found on
    the grid, then each edge is placed on the finer block grid: a cell is 1/128 of the
    image, and a screenshot's photo may fill only a third of it.
    """
    v = grid.values()
    top, top_colour = _bar_lines(v, text=True)
    bottom, bottom_colour = _bar_lines(v[::-1], text=True)
    columns = [list(c) for c in zip(*v[top:GRID - bottom])]
    left, left_colour = _bar_lines(columns, text=False)
    right, right_colour = _bar_lines(columns[::-1], text=False)
    if top + bottom > GRID - MIN_CONTENT or left + right > GRID - MIN_CONTENT:
        return WHOLE
    if not (top or bottom or left or right):  # no bars: no edges to place
        return WHOLE
    b = grid.blocks
    rows = list(b.grid)  # read only: no copy of each row
    row_px, col_px = b.row_sizes, b.col_sizes
    y0 = _refine(rows, row_px, col_px, top, top_colour, b.ky, b.ky, b.height)
    y1 = 1 - _refine(rows[::-1], row_px[::-1], col_px, bottom, bottom_colour, _last(b.ky, b.height), b.ky,
                     b.height)
    r0, r1 = int(y0 * b.height) // b.ky, -(-int(y1 * b.height) // b.ky)
    x0, x1 = 0.0, 1.0
    if left or right:  # turning the block grid into columns is most of the cost: only for side bars
        cols = [list(c) for c in zip(*rows[r0:r1])]
        x0 = _refine(cols, col_px, row_px[r0:r1], left, left_colour, b.kx, b.kx, b.width)
        x1 = 1 - _refine(cols[::-1], col_px[::-1], row_px[r0:r1], right, right_colour, _last(b.kx, b.width), b.kx,
                         b.width)
    if x1 - x0 < MIN_CONTENT / GRID or y1 - y0 < MIN_CONTENT / GRID:
        return WHOLE
    return (x0, y0, x1, y1)


def _last(k, n):
    """The size of the last block along an axis of n pixels cut every k (for scanning backwards)."""
    return n - (n - 1) // k * k


def _refine(lines, line_px, cross_px, cells, colour, first_px, k, side):
    """Where a bar found to end about `cells` grid cells in ends on the block grid (a share of
    the side): the first block line near there that is not the bar's colour. lines are block
    sums from the bar's side on; line_px and cross_px the pixels each block sums each way (a
    tall image's blocks sum every other row); k the pixels a block spans along this axis, and
    first_px those of the first line (the last block of an axis may be shorter)."""
    if cells == 0:
        return 0.0
    start_px = max(0, (cells - 1) * side // GRID)
    stop_px = min(side, (cells + 2) * side // GRID)
    n = max(0, (start_px - first_px) // k + 1) if start_px else 0
    while n < len(lines):
        offset = first_px + (n - 1) * k if n else 0
        if offset >= stop_px:
            break
        if not _bar_block_line(lines[n], line_px[n], cross_px, colour):
            return offset / side
        n += 1
    return min(stop_px, side) / side


def _bar_block_line(line, rows, widths, colour):
    """Whether a line of block sums (LUMA_SCALE x luma; `rows` x widths[c] pixels each) is
    nearly all the bar's colour (a grid value: SAMPLE_SCALE x luma)."""
    near = 0
    for total, w in zip(line, widths):
        npx = rows * w * LUMA_SCALE
        if abs(total * SAMPLE_SCALE - colour * npx) <= LUMA_TOLERANCE * npx:
            near += 1
    return near >= UNIFORM_SHARE * len(line)


def _bar_lines(lines, text):
    """(How many lines from the start are a bar, the bar's colour) (see content_box). A
    few lines that are not (an app's title) do not end a bar; PICTURE_LINES in a row do.

    On a bar that may hold text, lines through a caption's big letters (often wider than the
    margins and darker than half the line, but with the bar's colour between the letters) do
    not count towards those either, and the bar goes on over them if a uniform line follows
    (the bar's edge beyond the letters): a picture seldom has one there."""
    first = sorted(lines[0])
    colour = first[len(first) // 2]  # the bar's colour: the first line's median (a corner may be text)
    end, n, run, letters = 0, 0, 0, False
    while n < min(MAX_BAR, len(lines)) and run < PICTURE_LINES:
        line = lines[n]
        near = sum(1 for v in line if abs(v - colour) <= LUMA_TOLERANCE)
        n += 1
        if near >= UNIFORM_SHARE * len(line):
            end, run, letters = n, 0, False
        elif text and near >= TEXT_SHARE * len(line) and not letters and _ends_near(line, colour, MARGIN):
            end, run = n, 0
        elif text and near >= LETTERS_SHARE * len(line) and _ends_near(line, colour, LETTERS_MARGIN):
            letters = True
        else:
            run += 1
    return end, colour


def _ends_near(line, colour, margin):
    """Whether the first and last `margin` values of a line are all near the bar's colour."""
    return all(abs(v - colour) <= LUMA_TOLERANCE for v in line[:margin] + line[-margin:])

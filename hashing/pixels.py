"""Decoded pixels, as the caller's decoder hands them over (the browser's canvas, Pillow, PyAV)."""

CHANNELS = {"RGBA": 4, "RGB": 3, "L": 1}

# Far above any real photo (a 200 MP sensor is 16384 x 12288), low enough to refuse nonsense early.
MAX_SIDE = 1 << 16


class PixelsError(ValueError):
    """The pixel buffer does not describe a valid image."""


class Pixels:
    """width x height pixels, row-major, top row first, 8 bits per channel, no row padding.

    mode is "RGBA" (the browser's getImageData), "RGB" or "L" (grey). Alpha is ignored:
    callers flatten transparency onto white before handing pixels over.
    """

    __slots__ = ("width", "height", "mode", "data")
    width: int
    height: int
    mode: str
    data: memoryview

    def __init__(self, width: int, height: int, data: bytes | bytearray | memoryview, mode: str = "RGBA"):
        for name, side in (("width", width), ("height", height)):
            if not isinstance(side, int) or isinstance(side, bool):
                raise PixelsError("%s must be an integer, got %r" % (name, side))
            if side <= 0:
                raise PixelsError("%s must be positive, got %d" % (name, side))
            if side > MAX_SIDE:
                raise PixelsError("%s %d is larger than the limit of %d" % (name, side, MAX_SIDE))
        if mode not in CHANNELS:
            raise PixelsError("unknown pixel mode %r: expected one of %s" % (mode, ", ".join(CHANNELS)))
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise PixelsError("pixel data must be bytes, got %s" % type(data).__name__)
        data = memoryview(data).cast("B")
        expected = width * height * CHANNELS[mode]
        if len(data) != expected:
            raise PixelsError(
                "pixel data is %d bytes but %dx%d %s needs %d" % (len(data), width, height, mode, expected)
            )
        self.width = width
        self.height = height
        self.mode = mode
        self.data = data

    @property
    def channels(self) -> int:
        return CHANNELS[self.mode]

    def row(self, y: int) -> memoryview:
        """Row y as a memoryview of width * channels bytes."""
        stride = self.width * self.channels
        return self.data[y * stride:(y + 1) * stride]

    def __repr__(self):
        return "Pixels(%dx%d %s)" % (self.width, self.height, self.mode)

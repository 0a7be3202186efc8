// What a file is, by its first bytes (never its name or type, which phones and people get wrong),
// and the size its header declares: a photo's pixels are counted before anything decodes them.
// The same rules as takeback/decode.py: an ISO BMFF file is a photo when its 'ftyp' carries a
// HEIF or AVIF brand (heif_family), and a video otherwise.

export type Format = "jpeg" | "png" | "gif" | "webp" | "bmp" | "heif" | "avif" | "mp4" | "webm" | "avi";
export interface Sniffed {
  kind: "image" | "video" | "unknown";
  format?: Format;
  width?: number; // as the header declares it, before any orientation
  height?: number;
}

// takeback/decode.py AVIF_BRANDS and HEIF_BRANDS.
const AVIF_BRANDS = new Set(["avif", "avis", "avio", "MA1A", "MA1B"]);
const HEIF_BRANDS = new Set([
  "mif1", "mif2", "msf1", "miaf",
  "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs",
  "MiHA", "MiHB", "MiHE", "MiHM", "MiHS", "MiPr", "MiAn", "MiCm",
  "avci", "avcs", "jpeg", "jpgs", "j2ki", "j2is", "vvic", "vvis", "unif",
]);
// Top-level boxes an old QuickTime movie may start with instead of 'ftyp'.
const MOVIE_BOXES = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);
const HEAD = 64 * 1024; // enough for every header below but JPEG's (walked) and HEIF's 'meta'
const META_MAX = 4 << 20; // a 'meta' box larger than this is not read for a size

const read = async (file: Blob, start: number, end: number) => new DataView(await file.slice(start, end).arrayBuffer());
const text = (v: DataView, at: number, n: number) =>
  at + n > v.byteLength ? "" : String.fromCharCode(...new Uint8Array(v.buffer, v.byteOffset + at, n));
const u16 = (v: DataView, at: number, little = false) => (at + 2 <= v.byteLength ? v.getUint16(at, little) : -1);
const u32 = (v: DataView, at: number, little = false) => (at + 4 <= v.byteLength ? v.getUint32(at, little) : -1);

export async function sniff(file: Blob): Promise<Sniffed> {
  try {
    return await sniffHead(file, await read(file, 0, HEAD));
  } catch {
    return { kind: "unknown" }; // an unreadable file, or a header that ends too soon
  }
}

async function sniffHead(file: Blob, v: DataView): Promise<Sniffed> {
  const sized = (format: Format, width: number, height: number): Sniffed =>
    width >= 0 && height >= 0 ? { kind: "image", format, width, height } : { kind: "image", format };
  if (u16(v, 0) === 0xffd8 && v.getUint8(2) === 0xff) return jpeg(file, v);
  if (u32(v, 0) === 0x89504e47 && u32(v, 4) === 0x0d0a1a0a) {
    return sized("png", text(v, 12, 4) === "IHDR" ? u32(v, 16) : -1, u32(v, 20));
  }
  if (text(v, 0, 6) === "GIF87a" || text(v, 0, 6) === "GIF89a") return sized("gif", u16(v, 6, true), u16(v, 8, true));
  if (text(v, 0, 4) === "RIFF" && text(v, 8, 4) === "WEBP") return webp(v);
  if (text(v, 0, 4) === "RIFF" && text(v, 8, 4) === "AVI ") return { kind: "video", format: "avi" };
  if (u32(v, 0) === 0x1a45dfa3) return { kind: "video", format: "webm" }; // EBML: WebM, Matroska
  if (text(v, 0, 2) === "BM" && [12, 40, 52, 56, 64, 108, 124].includes(u32(v, 14, true))) {
    const core = u32(v, 14, true) === 12;
    const w = core ? u16(v, 18, true) : v.getInt32(18, true);
    const h = core ? u16(v, 20, true) : v.getInt32(22, true);
    return sized("bmp", Math.abs(w), Math.abs(h)); // a negative height: rows stored top-down
  }
  if (text(v, 4, 4) === "ftyp") return isoMedia(file, v);
  if (MOVIE_BOXES.has(text(v, 4, 4))) {
    // An old QuickTime movie: a known box, then (unless the first runs past what was read) another.
    const next = u32(v, 0);
    if (next >= 8 && (next + 8 > v.byteLength || /^[a-z]{4}$/.test(text(v, next + 4, 4)))) return { kind: "video", format: "mp4" };
  }
  return { kind: "unknown" };
}

/** JPEG: the segments up to the first SOFn, read from the file as they come (EXIF and ICC
 * segments can push it beyond the first 64 KB). */
async function jpeg(file: Blob, head: DataView): Promise<Sniffed> {
  let at = 2;
  let v = head;
  let base = 0; // v starts at this offset of the file
  try {
    for (let segments = 0; segments < 1000 && at < file.size; segments++) {
      if (at + 10 > base + v.byteLength) {
        base = at;
        v = await read(file, at, at + HEAD);
        if (v.byteLength < 10) break;
      }
      const i = at - base;
      if (v.getUint8(i) !== 0xff) break;
      const marker = v.getUint8(i + 1);
      if (marker === 0xff) { at++; continue; } // fill byte
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue; }
      if (marker === 0xd9 || marker === 0xda) break; // end of image, start of scan: no frame header
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { kind: "image", format: "jpeg", width: u16(v, i + 7), height: u16(v, i + 5) };
      }
      at += 2 + u16(v, i + 2);
    }
  } catch {
    // a header that ends too soon: still a JPEG, of unknown size
  }
  return { kind: "image", format: "jpeg" };
}

function webp(v: DataView): Sniffed {
  const chunk = text(v, 12, 4);
  if (chunk === "VP8 " && u32(v, 23) >>> 8 === 0x9d012a) {
    return { kind: "image", format: "webp", width: u16(v, 26, true) & 0x3fff, height: u16(v, 28, true) & 0x3fff };
  }
  if (chunk === "VP8L" && v.byteLength >= 25 && v.getUint8(20) === 0x2f) {
    const bits = v.getUint32(21, true);
    return { kind: "image", format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X" && v.byteLength >= 30) {
    const u24 = (at: number) => v.getUint8(at) | (v.getUint8(at + 1) << 8) | (v.getUint8(at + 2) << 16);
    return { kind: "image", format: "webp", width: u24(24) + 1, height: u24(27) + 1 };
  }
  return { kind: "image", format: "webp" };
}

/** ISO BMFF: a HEIF/AVIF photo by its brands (with the size of its primary image, from the
 * 'ispe' property in 'meta'), else a video (MP4, QuickTime, 3GP...). */
async function isoMedia(file: Blob, v: DataView): Promise<Sniffed> {
  let ftyp = u32(v, 0);
  let start = 8;
  if (ftyp === 1) { ftyp = Number(v.getBigUint64(8)); start = 16; }
  const end = Math.min(ftyp || 4096, 4096, v.byteLength);
  const brands = new Set([text(v, start, 4)]); // major brand, minor version, compatible brands
  for (let at = start + 8; at + 4 <= end; at += 4) brands.add(text(v, at, 4));
  const format = [...brands].some((b) => AVIF_BRANDS.has(b)) ? "avif"
    : [...brands].some((b) => HEIF_BRANDS.has(b)) ? "heif" : null;
  if (!format) return { kind: "video", format: "mp4" };
  try {
    // The 'meta' box: among the first top-level boxes (an iPhone writes ftyp, meta, mdat).
    let at = ftyp;
    for (let boxes = 0; boxes < 16 && at >= 8 && at + 8 <= file.size; boxes++) {
      const h = at + 16 <= v.byteLength ? v : await read(file, at, at + 16);
      const o = h === v ? at : 0;
      let n = u32(h, o);
      if (n === 1) n = Number(h.getBigUint64(o + 8));
      if (text(h, o + 4, 4) === "meta") {
        if (n < 12 || n > META_MAX) break;
        const meta = at + n <= v.byteLength ? new DataView(v.buffer, v.byteOffset + at, n) : await read(file, at, at + n);
        return { kind: "image", format, ...primarySize(meta) };
      }
      if (n < 8) break;
      at += n;
    }
  } catch {
    // a 'meta' that ends too soon: still a photo, of unknown size (libheif checks it)
  }
  return { kind: "image", format };
}

/** The children of the box whose payload runs from `from` to `to` in v: [type, payload start, end]. */
function* children(v: DataView, from: number, to: number): Generator<[string, number, number]> {
  for (let at = from; at + 8 <= to;) {
    let n = v.getUint32(at);
    let head = 8;
    if (n === 1 && at + 16 <= to) { n = Number(v.getBigUint64(at + 8)); head = 16; }
    else if (n === 0) n = to - at;
    if (n < head || at + n > to) return;
    yield [text(v, at + 4, 4), at + head, at + n];
    at += n;
  }
}

/** {width, height} of the primary item's 'ispe' (ISO/IEC 23008-12), else of the largest one. */
function primarySize(meta: DataView): { width?: number; height?: number } {
  let primary = -1;
  const sizes: ([number, number] | null)[] = []; // ipco's properties, 1-based in ipma
  const owners = new Map<number, number[]>(); // item -> its property indices
  for (const [type, from, to] of children(meta, 12, meta.byteLength)) { // meta is a FullBox
    if (type === "pitm") primary = meta.getUint8(from) === 0 ? u16(meta, from + 4) : u32(meta, from + 4);
    if (type !== "iprp") continue;
    for (const [kind, a, b] of children(meta, from, to)) {
      if (kind === "ipco") {
        for (const [prop, p] of children(meta, a, b)) sizes.push(prop === "ispe" ? [u32(meta, p + 4), u32(meta, p + 8)] : null);
      } else if (kind === "ipma") {
        const version = meta.getUint8(a);
        const wide = (meta.getUint32(a) & 1) === 1;
        let at = a + 8;
        for (let e = u32(meta, a + 4); e > 0 && at < b; e--) {
          const item = version < 1 ? u16(meta, at) : u32(meta, at);
          at += version < 1 ? 2 : 4;
          const props: number[] = [];
          for (let c = at < b ? meta.getUint8(at++) : 0; c > 0 && at < b; c--) {
            props.push(wide ? u16(meta, at) & 0x7fff : meta.getUint8(at) & 0x7f);
            at += wide ? 2 : 1;
          }
          owners.set(item, props);
        }
      }
    }
  }
  const own = (owners.get(primary) ?? []).map((i) => sizes[i - 1]).find((s) => s);
  const largest = sizes.reduce<[number, number] | null>((m, s) => (s && (!m || s[0] * s[1] > m[0] * m[1]) ? s : m), null);
  const found = own ?? largest;
  return found && found[0] >= 0 && found[1] >= 0 ? { width: found[0], height: found[1] } : {};
}

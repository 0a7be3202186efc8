// Video frames on the UI thread, by the rule of `takeback hash`: the frame a <video> shows after
// seeking to t (the last frame at or before t), drawn at its natural size, RGBA.
import { DecodeError, pixelContext, type PixelContext } from "./decode";

const THUMB = 96;
const WAIT_MS = 20_000;
const PRESENT_MS = 500; // a seek or load that never ends is a video this browser cannot decode
const REDRAW_MS = 50;

export const isVideo = (file: File) =>
  file.type.startsWith("video/") || /\.(mp4|m4v|mov|webm|mkv|3gp|avi|hevc)$/i.test(file.name);

/** Resolves on `name`, rejects (as undecodable) on an error event or after WAIT_MS. */
function until(video: HTMLVideoElement, name: string, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      video.removeEventListener(name, good);
      video.removeEventListener("error", bad);
      if (ok) resolve();
      else reject(new DecodeError("video_undecodable"));
    };
    const good = () => finish(true);
    const bad = () => finish(false);
    const timer = setTimeout(bad, WAIT_MS);
    video.addEventListener(name, good);
    video.addEventListener("error", bad);
    start();
  });
}

// Safari before 15.4 has no requestVideoFrameCallback (TypeScript's DOM types say every engine has).
const presents = (video: HTMLVideoElement) => "requestVideoFrameCallback" in (video as object);

function same(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class VideoFrames {
  private constructor(
    private video: HTMLVideoElement,
    private url: string,
    readonly width: number,
    readonly height: number,
    private ctx: PixelContext,
    // Without requestVideoFrameCallback: the picture last drawn and its time (see frame()).
    private last: { time: number; pixels: Uint32Array } | null,
  ) {}

  get duration(): number {
    return this.video.duration;
  }

  static async open(file: Blob): Promise<VideoFrames> {
    if (file.size === 0) throw new DecodeError("empty");
    const url = URL.createObjectURL(file);
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.preload = "auto";
    try {
      await until(video, "loadeddata", () => { video.src = url; });
      const { videoWidth: w, videoHeight: h, duration } = video;
      // No video track (or one this browser cannot decode, e.g. HEVC beside a playable audio track).
      if (!w || !h || !Number.isFinite(duration)) throw new DecodeError("video_undecodable");
      const ctx = pixelContext(w, h);
      if (!ctx) throw new DecodeError("too_large");
      const frames = new VideoFrames(video, url, w, h, ctx, null);
      if (!presents(video)) frames.last = { time: video.currentTime, pixels: frames.draw() };
      return frames;
    } catch (e) {
      video.removeAttribute("src");
      URL.revokeObjectURL(url);
      throw e;
    }
  }

  /** The RGBA pixels of the frame shown at `time` seconds. */
  async frame(time: number): Promise<ArrayBuffer> {
    const video = this.video;
    if (!presents(video)) return this.frameAfterSeeked(time);
    // Draw once the seeked-to frame is presented, not just decoded; a seek that lands on the
    // frame already shown presents nothing new, hence the time limit.
    let id = 0;
    const presented = new Promise<void>((resolve) => {
      id = video.requestVideoFrameCallback(() => resolve());
      setTimeout(resolve, PRESENT_MS);
    });
    await until(video, "seeked", () => { video.currentTime = time; });
    await presented;
    video.cancelVideoFrameCallback(id);
    return this.draw().buffer as ArrayBuffer;
  }

  /** Without requestVideoFrameCallback (Safari before 15.4) nothing says when the seeked-to frame
   * is on show: an engine may still draw the previous one just after `seeked` (Chromium does under
   * load). So a picture equal to the one drawn at another time is drawn again every REDRAW_MS
   * until it changes, for at most PRESENT_MS: a still scene costs that wait, nothing else. */
  private async frameAfterSeeked(time: number): Promise<ArrayBuffer> {
    const video = this.video;
    await until(video, "seeked", () => { video.currentTime = time; });
    const started = performance.now();
    let pixels = this.draw();
    const last = this.last!;
    while (time !== last.time && same(pixels, last.pixels) && performance.now() - started < PRESENT_MS) {
      await new Promise((r) => setTimeout(r, REDRAW_MS));
      pixels = this.draw();
    }
    this.last = { time, pixels: pixels.slice() }; // a copy: the buffer is handed to the worker
    return pixels.buffer as ArrayBuffer;
  }

  private draw(): Uint32Array {
    this.ctx.drawImage(this.video, 0, 0);
    return new Uint32Array(this.ctx.getImageData(0, 0, this.width, this.height).data.buffer);
  }

  /** The current frame, small: shown on the page only. */
  thumbnail(): HTMLCanvasElement {
    const scale = Math.min(1, THUMB / Math.max(this.width, this.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(this.width * scale));
    canvas.height = Math.max(1, Math.round(this.height * scale));
    canvas.getContext("2d")?.drawImage(this.video, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  close(): void {
    this.video.removeAttribute("src");
    this.video.load();
    URL.revokeObjectURL(this.url);
  }
}

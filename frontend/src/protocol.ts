// The typed messages between the page (UI thread) and the hashing worker.

/** One hash record, exactly as hashing.MediaRecord.to_json() makes it and the API takes it. */
export interface HashEntry {
  type: string;
  value: string;
  quality?: number;
}
export interface MediaRecord {
  media: "image" | "video";
  hashes: HashEntry[];
}

/** Page -> worker. `pixels` is RGBA, width * height * 4 bytes (transferred); photos are
 * flattened onto white. A video is `video` (the worker answers `times`), one `frame` per time
 * (each answered by `frame`), then `end` (digests of the file, then `result`); `drop` cancels.
 * `work` finds the proof of work for a case body (hashing/admission.py), answered by `work`. */
export type ToWorker =
  | { type: "hash"; job: number; file: Blob; width: number; height: number; pixels: ArrayBuffer }
  | { type: "video"; job: number; duration: number }
  | { type: "frame"; job: number; time: number; width: number; height: number; pixels: ArrayBuffer }
  | { type: "end"; job: number; file: Blob }
  | { type: "drop"; job: number }
  | { type: "work"; job: number; challenge: string; body: string; bits: number };

export type WorkerErrorCode = "too_small" | "not_hashable" | "video_undecodable" | "internal";

/** Worker -> page. `fraction` is the share of the file's digests done; a video's `result`
 * also carries the times of the frames it kept (for the page and tests, never sent). */
export type FromWorker =
  | { type: "ready"; ms: number; phases: Record<string, number> }
  | { type: "failed"; detail: string }
  | { type: "progress"; job: number; fraction: number }
  | { type: "times"; job: number; times: number[] }
  | { type: "frame"; job: number }
  | { type: "result"; job: number; record: MediaRecord; times?: number[] }
  | { type: "error"; job: number; code: WorkerErrorCode; detail: string }
  | { type: "work"; job: number; nonce: string };

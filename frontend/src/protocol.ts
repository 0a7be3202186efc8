// The typed messages between the page (UI thread) and the hashing worker.

/** One hash record, exactly as hashing.MediaRecord.to_json() makes it and the API takes it. */
export interface HashEntry {
  type: string;
  value: string;
  quality?: number;
}
export interface MediaRecord {
  media: "image";
  hashes: HashEntry[];
}

/** Page -> worker. `pixels` is RGBA, flattened onto white, width * height * 4 bytes (transferred). */
export type ToWorker = {
  type: "hash";
  job: number;
  file: Blob;
  width: number;
  height: number;
  pixels: ArrayBuffer;
};

export type WorkerErrorCode = "too_small" | "not_hashable" | "internal";

/** Worker -> page. */
export type FromWorker =
  | { type: "ready"; ms: number; phases: Record<string, number> }
  | { type: "failed"; detail: string }
  | { type: "progress"; job: number; fraction: number }
  | { type: "result"; job: number; record: MediaRecord }
  | { type: "error"; job: number; code: WorkerErrorCode; detail: string };

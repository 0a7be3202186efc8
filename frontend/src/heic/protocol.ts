// The typed messages between the page and the HEIF decoder's worker.
import type { DecodeProblem } from "../decode";

/** Page -> worker: a file to decode, refused if its primary image has more than maxPixels. */
export interface ToHeif {
  id: number;
  file: Blob;
  maxPixels: number;
}

/** Worker -> page. `pixels`: RGBA, width * height * 4, flattened onto white (transferred). */
export type FromHeif =
  | { id: number; ok: true; width: number; height: number; pixels: ArrayBuffer }
  | { id: number; ok: false; problem: DecodeProblem; detail: string; restart?: boolean };

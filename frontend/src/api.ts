// The only five requests the app makes besides its own files.
import type { MediaRecord } from "./protocol";

/** Every call made through here this session, for the "What was sent" screen. Logged before
 * the request goes, so an attempt that fails is listed too. */
export interface Sent { method: string; path: string; bytes: number; at: number }
export const sentLog: Sent[] = [];

export interface CaseItem {
  item: number;
  media: string;
  status: "active" | "withdrawn";
  reports?: { matched: number; removed: number; not_removed: number };
}
export interface Receipt { case_id: string; pin: string; created: string; items: CaseItem[] }
export interface CaseStatus { case_id: string; created: string; items: CaseItem[] }

export interface Platform { name: string }

export type ApiProblem = "not_found" | "rate" | "offline" | "server";
export class ApiError extends Error {
  /** `retryAfter`: seconds to wait, from a 429's Retry-After header. */
  constructor(readonly problem: ApiProblem, readonly retryAfter = 0) {
    super(problem);
  }
}

const base: RequestInit = { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer", redirect: "error" };

async function call<T>(url: string, init: RequestInit): Promise<T> {
  let response: Response;
  const body = typeof init.body === "string" ? init.body : "";
  sentLog.push({ method: init.method!, path: url, bytes: bytes(body), at: performance.now() });
  try {
    response = await fetch(url, { ...base, ...init });
  } catch {
    throw new ApiError("offline");
  }
  if (response.status === 404) throw new ApiError("not_found");
  if (response.status === 429) throw new ApiError("rate", Number(response.headers.get("Retry-After")) || 60);
  if (!response.ok) throw new ApiError("server");
  return (await response.json()) as T;
}

/** The body is the exact text shown on the review screen: one hash per line, readable, and
 * about half the bytes of indenting every field (a photo carries ~66 hashes). */
export const recordText = (r: MediaRecord) =>
  `  {"media": ${JSON.stringify(r.media)}, "hashes": [\n` + r.hashes.map((h) => "    " + JSON.stringify(h)).join(",\n") + "\n  ]}";

export function submitBody(records: MediaRecord[]): string {
  return `{"items": [\n${records.map(recordText).join(",\n")}\n]}`;
}

/** The bytes a text takes on the wire (UTF-8). */
export const bytes = (text: string) => new TextEncoder().encode(text).length;

/** A proof-of-work challenge for one case (docs/API.md); the worker solves it for the body. */
export interface Challenge { challenge: string; bits: number; expires: string }
export const challenge = () => call<Challenge>("/api/v1/cases/challenge", { method: "GET" });

export interface Work { challenge: string; nonce: string }
export const submit = (body: string, work: Work) =>
  call<Receipt>("/api/v1/cases", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Takeback-Challenge": work.challenge, "X-Takeback-Work": work.nonce },
    body,
  });

const caseUrl = (id: string) => "/api/v1/cases/" + encodeURIComponent(id);

export const status = (id: string, pin: string) =>
  call<CaseStatus>(caseUrl(id), { method: "GET", headers: { "X-Case-PIN": pin } });

export const withdraw = (id: string, pin: string, items?: number[]) =>
  call<CaseStatus>(caseUrl(id) + "/withdraw", {
    method: "POST",
    headers: { "X-Case-PIN": pin, "Content-Type": "application/json" },
    body: JSON.stringify(items ? { items } : {}),
  });

/** The platforms the operator lists as taking part (public, cacheable). */
export const platforms = () =>
  call<{ platforms: Platform[] }>("/api/v1/platforms", { method: "GET", cache: "default" }).then((r) => r.platforms);

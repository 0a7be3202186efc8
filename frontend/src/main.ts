// The page: screens, decoding, the worker, the API. No framework: a few small render functions.
import "./style.css";
import {
  ApiError, type CaseStatus, type Receipt, type Sent, sentLog, status as getStatus, submit, submitBody, withdraw,
} from "./api";
import { decode, DecodeError } from "./decode";
import { browserLang, isKey, lang, setLang, t, type Key } from "./i18n";
import type { FromWorker, MediaRecord, ToWorker } from "./protocol";
import { isVideo, VideoFrames } from "./video";

const NEUTRAL_SITE = "https://www.google.com/search?q=weather+tomorrow";
const EXAMPLE: MediaRecord = {
  media: "image",
  hashes: [
    { type: "pdq", value: "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", quality: 100 },
    { type: "md5", value: "3d0e4a6b9d8c3a1e8b5f1f1a8c2e0d47" },
    { type: "sha256", value: "9a1c6f0e3b7d2a85c4e1f6b0d93a7e2c5b8f1d4a6e0c3b9f7a2d5e8c1b4f6a03" },
  ],
};

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

// ---------------------------------------------------------------- state
type FileState = "waiting" | "decoding" | "hashing" | "done" | "error";
interface Item {
  job: number;
  name: string;
  file: File | null; // dropped once hashed
  state: FileState;
  fraction: number;
  problem?: Key;
  record?: MediaRecord;
  thumbnail?: HTMLCanvasElement;
  removed: boolean;
  video?: boolean;
  frames?: [number, number]; // a video's frames hashed, of how many
  times?: number[]; // the times of the frames a video kept (page only)
  cancelled?: boolean;
  ms?: number; // decode + hash time, shown to nobody; read by make bench-web
  seekMs?: number; // a video's time spent seeking and drawing frames; read by make bench-video
}
const items: Item[] = [];
let nextJob = 1;
let workerState: "loading" | "ready" | "failed" = "loading";
let receipt: Receipt | null = null;
let caseShown: CaseStatus | null = null;
let pendingConfirm: number[] | null | undefined; // undefined: nothing to confirm; null: withdraw all

// ---------------------------------------------------------------- worker
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "takeback-hashing" });
const listeners = new Map<number, (m: FromWorker) => void>(); // by job: its worker's answers
worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.type === "ready") {
    workerState = "ready";
    document.documentElement.dataset.worker = "ready";
    document.documentElement.dataset.workerMs = String(m.ms);
    document.documentElement.dataset.workerPhases = JSON.stringify(m.phases);
    document.documentElement.dataset.readyAt = String(Math.round(performance.now()));
    renderWorkerStatus();
    registerServiceWorker();
  } else if (m.type === "failed") {
    workerState = "failed";
    document.documentElement.dataset.worker = "failed";
    renderWorkerStatus();
  } else if (m.type === "progress") {
    const item = items.find((i) => i.job === m.job);
    if (item) { item.fraction = item.video ? 0.9 + 0.1 * m.fraction : 0.5 + 0.5 * m.fraction; renderFiles(); }
  } else {
    listeners.get(m.job)?.(m);
  }
};

worker.onerror = () => {
  // The worker script itself could not run (a very old browser, a blocked script).
  workerState = "failed";
  document.documentElement.dataset.worker = "failed";
  renderWorkerStatus();
  for (const [job, resolve] of listeners) resolve({ type: "error", job, code: "internal", detail: "worker failed" });
};

function registerServiceWorker() {
  // After the worker is ready, so the service worker's copies come from the HTTP cache.
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

// ---------------------------------------------------------------- screens
type Screen = "intro" | "pick" | "review" | "receipt" | "status" | "sent";
let screen: Screen = "intro";
function show(next: Screen, focus = true) {
  screen = next;
  for (const s of document.querySelectorAll<HTMLElement>(".screen")) s.hidden = s.id !== "screen-" + next;
  $("to-sent").hidden = next === "sent";
  document.documentElement.dataset.screen = next;
  render();
  if (focus) {
    $(`${next}-h`).focus();
    window.scrollTo(0, 0);
  }
}

function applyStatic() {
  document.documentElement.lang = lang();
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    const key = node.dataset.i18n!;
    if (isKey(key)) node.textContent = t(key);
  }
  const switcher = $("lang");
  switcher.textContent = t("switchTo");
  switcher.lang = lang() === "en" ? "es" : "en";
  $("intro-example").textContent = JSON.stringify(EXAMPLE, null, 2);
}

function render() {
  applyStatic();
  renderWorkerStatus();
  renderFiles();
  renderReview();
  renderReceipt();
  renderCase();
  renderSent();
}

function renderWorkerStatus() {
  $("worker-status").textContent =
    workerState === "ready" ? t("worker.ready") : workerState === "failed" ? t("worker.failed") : t("worker.loading");
}

// ---------------------------------------------------------------- picking and hashing
function renderFiles() {
  const list = $("file-list");
  list.replaceChildren(
    ...items.filter((i) => !i.removed).map((item) => {
      const li = el("li", "file");
      li.dataset.state = item.state;
      li.dataset.name = item.name;
      if (item.ms !== undefined) li.dataset.ms = String(item.ms);
      if (item.seekMs !== undefined) li.dataset.seekMs = String(item.seekMs);
      li.append(el("span", "name", item.name));
      const stateKey: Key = item.state === "error" ? item.problem ?? "file.internal" : (`file.${item.state}` as Key);
      const text = item.frames && item.state !== "done" && item.state !== "error"
        ? t("file.frame", { n: item.frames[0], total: item.frames[1] }) : t(stateKey);
      const message = el("span", item.state === "error" ? "message error" : "message", text);
      li.append(message);
      if (item.state === "decoding" || item.state === "hashing") {
        const bar = el("progress");
        bar.max = 1;
        bar.value = item.fraction;
        bar.setAttribute("aria-label", item.name);
        li.append(bar);
      }
      return li;
    }),
  );
  const live = items.filter((i) => !i.removed);
  const done = live.filter((i) => i.state === "done").length;
  const busy = live.some((i) => i.state === "waiting" || i.state === "decoding" || i.state === "hashing");
  $("cancel").hidden = !live.some((i) => i.video && (i.state === "decoding" || i.state === "hashing"));
  $("pick-status").textContent = live.length ? t("pick.count", { done, total: live.length }) : "";
  ($("to-review") as HTMLButtonElement).disabled = done === 0 || busy;
  $("files-label").textContent = live.length ? t("pick.more") : t("pick.button");
}

// Decoding the next photo on the page overlaps hashing the previous one in the worker; at most
// one photo waits in the worker's queue, so at most two pixel buffers exist at a time.
let running = false;
async function pump() {
  if (running) return;
  running = true;
  try {
    let previous: Promise<void> = Promise.resolve();
    for (let item = items.find((i) => i.state === "waiting"); item; item = items.find((i) => i.state === "waiting")) {
      if (item.video) {
        await previous;
        previous = Promise.resolve();
        await hashVideo(item);
        continue;
      }
      const { hashed } = await decodeAndSend(item);
      await previous;
      previous = hashed;
    }
    await previous;
  } finally {
    running = false;
    renderFiles();
  }
  // Photos picked while the last one was finishing.
  if (items.some((i) => i.state === "waiting")) void pump();
}

/** Decodes one photo and hands it to the worker; the promise returned settles when it is hashed. */
async function decodeAndSend(item: Item): Promise<{ hashed: Promise<void> }> {
  const file = item.file!;
  const started = performance.now();
  item.state = "decoding";
  renderFiles();
  let decoded;
  try {
    decoded = await decode(file);
  } catch (e) {
    item.state = "error";
    item.problem = e instanceof DecodeError ? (`file.${e.problem}` as Key) : "file.undecodable";
    item.file = null;
    renderFiles();
    return { hashed: Promise.resolve() };
  }
  item.state = "hashing";
  item.fraction = 0.5;
  item.thumbnail = decoded.thumbnail;
  renderFiles();
  const answer = new Promise<FromWorker>((resolve) => {
    listeners.set(item.job, resolve);
    const message: ToWorker = {
      type: "hash", job: item.job, file, width: decoded.width, height: decoded.height, pixels: decoded.pixels,
    };
    worker.postMessage(message, [decoded.pixels]);
  });
  const hashed = answer.then((m) => {
    listeners.delete(item.job);
    item.file = null;
    item.ms = Math.round(performance.now() - started);
    if (m.type === "result") {
      item.state = "done";
      item.record = m.record;
    } else {
      item.state = "error";
      item.problem = m.type === "error" ? (`file.${m.code}` as Key) : "file.internal";
    }
    renderFiles();
  });
  return { hashed };
}

/** A video: the worker names the frame times; each frame is seeked, drawn and sent (at most two
 * waiting in the worker); then the worker reads the file's digests and returns the record.
 * Two <video> elements take turns, so that seeking (decoding from a keyframe, the slow part for
 * videos with few keyframes) runs on both cores and overlaps the hashing. */
async function hashVideo(item: Item): Promise<void> {
  const file = item.file!;
  const started = performance.now();
  const inbox: FromWorker[] = [];
  let wake = () => {};
  listeners.set(item.job, (m) => { inbox.push(m); wake(); });
  const next = async (): Promise<FromWorker> => {
    while (!inbox.length) await new Promise<void>((r) => { wake = r; });
    const m = inbox.shift()!;
    if (m.type === "error") throw m;
    return m;
  };
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  item.state = "decoding";
  renderFiles();
  const videos: VideoFrames[] = []; // two <video>s seek in turn: one decodes while the other is drawn
  try {
    const video = await VideoFrames.open(file);
    videos.push(video);
    send({ type: "video", job: item.job, duration: video.duration });
    const { times } = (await next()) as { times: number[] };
    if (times.length > 1) videos.push(await VideoFrames.open(file));
    item.state = "hashing";
    const grab = (i: number) => {
      const p = videos[i % videos.length].frame(times[i]);
      p.catch(() => {}); // awaited in turn below
      return p;
    };
    const grabbed = times.slice(0, videos.length).map((_, i) => grab(i));
    let acked = 0;
    let seekMs = 0;
    for (let i = 0; i < times.length; i++) {
      if (item.cancelled) throw "cancelled";
      const t0 = performance.now();
      const pixels = await grabbed[i];
      seekMs += performance.now() - t0;
      if (i === 0) item.thumbnail = video.thumbnail();
      if (i + videos.length < times.length) grabbed[i + videos.length] = grab(i + videos.length);
      send({ type: "frame", job: item.job, time: times[i], width: video.width, height: video.height, pixels }, [pixels]);
      for (; i + 1 - acked >= 2 || (i === times.length - 1 && acked < times.length); acked++) {
        await next();
        item.frames = [acked + 1, times.length];
        item.fraction = (0.9 * (acked + 1)) / times.length;
        renderFiles();
        if (item.cancelled) throw "cancelled";
      }
    }
    send({ type: "end", job: item.job, file });
    const m = (await next()) as FromWorker & { type: "result" };
    item.record = m.record;
    item.times = m.times;
    item.seekMs = Math.round(seekMs);
    item.state = "done";
  } catch (e) {
    send({ type: "drop", job: item.job });
    if (item.cancelled || e === "cancelled") {
      item.problem = "file.cancelled";
    } else if (e instanceof DecodeError) {
      item.problem = `file.${e.problem}` as Key;
    } else {
      const code = (e as { code?: string }).code;
      item.problem = code ? (`file.${code}` as Key) : "file.internal";
    }
    item.state = "error";
  } finally {
    for (const video of videos) video.close();
    listeners.delete(item.job);
    item.file = null;
    item.ms = Math.round(performance.now() - started);
    renderFiles();
  }
}

$("cancel").addEventListener("click", () => {
  const item = items.find((i) => i.video && (i.state === "decoding" || i.state === "hashing"));
  if (!item) return;
  item.cancelled = true;
  // Wakes a wait for the worker at once; the seek under way (if any) ends by itself.
  listeners.get(item.job)?.({ type: "error", job: item.job, code: "internal", detail: "cancelled" });
});

$("files").addEventListener("change", () => {
  const input = $("files") as HTMLInputElement;
  for (const file of Array.from(input.files ?? [])) {
    items.push({ job: nextJob++, name: file.name, file, state: "waiting", fraction: 0, removed: false, video: isVideo(file) });
  }
  input.value = "";
  renderFiles();
  void pump();
});

// ---------------------------------------------------------------- review and submit
const ready = () => items.filter((i) => i.state === "done" && !i.removed);

function renderReview() {
  const list = $("review-list");
  const chosen = ready();
  list.replaceChildren(
    ...chosen.map((item, index) => {
      const n = index + 1;
      const li = el("li", "entry");
      li.dataset.name = item.name;
      if (item.times) li.dataset.times = JSON.stringify(item.times); // a video's frame times, for tests
      const head = el("div", "entry-head");
      if (item.thumbnail) {
        item.thumbnail.setAttribute("role", "img");
        item.thumbnail.setAttribute("aria-label", t("review.thumb", { n }));
        head.append(item.thumbnail);
      }
      const label = el("div", "entry-label");
      label.append(el("strong", undefined, t("review.item", { n })), el("span", "name", item.name));
      head.append(label);
      const remove = el("button", "secondary small", t("review.remove"));
      remove.type = "button";
      remove.setAttribute("aria-label", t("review.removeLabel", { n }));
      remove.addEventListener("click", () => {
        item.removed = true;
        render();
        $("review-h").focus();
      });
      head.append(remove);
      const pre = el("pre", "json", JSON.stringify(item.record, null, 2));
      pre.tabIndex = 0;
      pre.setAttribute("aria-label", t("review.item", { n }));
      li.append(head, pre);
      return li;
    }),
  );
  $("review-body").textContent = submitBody(chosen.map((i) => i.record!));
  ($("submit") as HTMLButtonElement).disabled = chosen.length === 0;
  if (screen === "review" && chosen.length === 0) $("review-status").textContent = t("review.empty");
}

let submitting = false;
$("submit").addEventListener("click", async () => {
  const chosen = ready();
  if (submitting || chosen.length === 0) return;
  submitting = true;
  const button = $("submit") as HTMLButtonElement;
  button.disabled = true;
  $("review-status").textContent = t("review.sending");
  try {
    receipt = await submit(submitBody(chosen.map((i) => i.record!)));
    $("review-status").textContent = "";
    show("receipt");
  } catch (e) {
    $("review-status").textContent = t(problemKey(e));
  } finally {
    submitting = false;
    button.disabled = ready().length === 0;
  }
});

const problemKey = (e: unknown): Key =>
  e instanceof ApiError
    ? ({ not_found: "error.not_found", rate: "error.rate", offline: "error.offline", server: "error.server" } as const)[e.problem]
    : "error.server";

// ---------------------------------------------------------------- receipt
function renderReceipt() {
  $("receipt-case").textContent = receipt?.case_id ?? "";
  $("receipt-pin").textContent = receipt?.pin ?? "";
  $("receipt-date").textContent = receipt?.created ?? "";
}
const receiptText = () =>
  receipt ? t("receipt.text", { case: receipt.case_id, pin: receipt.pin, date: receipt.created }) : "";

$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(receiptText());
    $("receipt-status").textContent = t("receipt.copied");
  } catch {
    $("receipt-status").textContent = t("receipt.copyFailed");
  }
});
$("download").addEventListener("click", () => {
  const url = URL.createObjectURL(new Blob([receiptText()], { type: "text/plain;charset=utf-8" }));
  const a = el("a");
  a.href = url;
  a.download = `takeback-${receipt?.case_id ?? "receipt"}.txt`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});
$("receipt-check").addEventListener("click", () => {
  ($("case-id") as HTMLInputElement).value = receipt?.case_id ?? "";
  ($("case-pin") as HTMLInputElement).value = receipt?.pin ?? "";
  show("status");
});
$("receipt-done").addEventListener("click", () => {
  receipt = null;
  items.length = 0;
  show("intro");
});

// ---------------------------------------------------------------- status and withdraw
function credentials(): [string, string] {
  return [($("case-id") as HTMLInputElement).value.trim(), ($("case-pin") as HTMLInputElement).value.trim()];
}

function renderCase() {
  const view = $("case-view");
  view.hidden = !caseShown;
  if (!caseShown) return;
  $("case-title").textContent = t("status.caseTitle", { case: caseShown.case_id, date: caseShown.created });
  $("case-items").replaceChildren(
    ...caseShown.items.map((item) => {
      const li = el("li", "case-item");
      li.dataset.item = String(item.item);
      li.dataset.status = item.status;
      li.append(el("p", undefined, t("status.item", { n: item.item, status: t(item.status === "active" ? "status.active" : "status.withdrawn") })));
      if (item.reports) li.append(el("p", "note", t("status.reports", item.reports)));
      if (item.status === "active") {
        const b = el("button", "secondary small", t("status.withdrawOne", { n: item.item }));
        b.type = "button";
        b.addEventListener("click", () => askConfirm([item.item]));
        li.append(b);
      }
      return li;
    }),
  );
  $("withdraw-actions").hidden = !caseShown.items.some((i) => i.status === "active");
  const confirm = $("confirm");
  confirm.hidden = pendingConfirm === undefined;
  if (pendingConfirm !== undefined) {
    $("confirm-text").textContent =
      pendingConfirm === null ? t("status.confirmAll") : t("status.confirmOne", { n: pendingConfirm[0] });
  }
}

function askConfirm(which: number[] | null) {
  pendingConfirm = which;
  renderCase();
  $("confirm-yes").focus();
}

$("status-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const [id, pin] = credentials();
  const out = $("status-status");
  if (!id || !pin) { out.textContent = t("status.missing"); return; }
  out.textContent = t("status.checking");
  caseShown = null;
  pendingConfirm = undefined;
  renderCase();
  try {
    caseShown = await getStatus(id, pin);
    out.textContent = "";
  } catch (e) {
    out.textContent = t(problemKey(e));
  }
  renderCase();
});
$("withdraw-all").addEventListener("click", () => askConfirm(null));
$("confirm-no").addEventListener("click", () => { pendingConfirm = undefined; renderCase(); $("check").focus(); });
$("confirm-yes").addEventListener("click", async () => {
  if (!caseShown || pendingConfirm === undefined) return;
  const [, pin] = credentials();
  const out = $("status-status");
  try {
    caseShown = await withdraw(caseShown.case_id, pin, pendingConfirm ?? undefined);
    out.textContent = t("status.withdrawDone");
  } catch (e) {
    out.textContent = t(problemKey(e));
  }
  pendingConfirm = undefined;
  renderCase();
  $("case-title").tabIndex = -1;
  $("case-title").focus();
});

// ---------------------------------------------------------------- what was sent
/** Every request of this page this session, oldest first: the browser's own record of the files
 * it fetched (all GETs, nothing sent) and the API calls logged by api.ts with their bodies' size. */
function renderSent() {
  const rows: Sent[] = [];
  for (const entry of [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]) {
    if (!/^https?:/.test(entry.name)) continue; // blob: and data: are this page's own memory
    const url = new URL(entry.name);
    const own = url.origin === location.origin;
    if (own && url.pathname.startsWith("/api/")) continue; // listed from api.ts, with its method and size
    rows.push({ method: "GET", path: own ? url.pathname : url.href, bytes: 0, at: entry.startTime });
  }
  rows.push(...sentLog);
  rows.sort((a, b) => a.at - b.at);
  $("sent-rows").replaceChildren(...rows.map((r) => {
    const tr = el("tr");
    tr.append(el("td", undefined, r.method), el("td", undefined, r.path), el("td", undefined, String(r.bytes)));
    return tr;
  }));
  $("sent-total").textContent = t("sent.total", { n: rows.length, bytes: rows.reduce((n, r) => n + r.bytes, 0) });
}
let beforeSent: Screen = "intro";
$("to-sent").addEventListener("click", () => { beforeSent = screen; show("sent"); });
$("sent-back").addEventListener("click", () => show(beforeSent));

// ---------------------------------------------------------------- navigation, language, quick exit
$("start").addEventListener("click", () => show("pick"));
$("to-status").addEventListener("click", () => show("status"));
$("pick-back").addEventListener("click", () => show("intro"));
$("to-review").addEventListener("click", () => { $("review-status").textContent = ""; show("review"); });
$("review-back").addEventListener("click", () => show("pick"));
$("status-back").addEventListener("click", () => { caseShown = null; pendingConfirm = undefined; show(receipt ? "receipt" : "intro"); });
$("lang").addEventListener("click", () => {
  setLang(lang() === "en" ? "es" : "en");
  render();
});

function quickExit() {
  // Replace, not navigate: the app leaves no entry in the history to go "back" to.
  worker.terminate();
  items.length = 0;
  receipt = null;
  caseShown = null;
  document.title = "";
  document.body.replaceChildren();
  window.location.replace(NEUTRAL_SITE);
}
$("exit").addEventListener("click", quickExit);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && event.shiftKey) quickExit();
});

setLang(browserLang(navigator.languages?.length ? navigator.languages : [navigator.language]));
show("intro", false);
document.documentElement.dataset.app = "ready";

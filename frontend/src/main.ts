// The page: screens, history, the receipt, help, language. No framework: small render functions.
// Hashing lives in pipeline.ts (page decoding + worker), device storage in store.ts.
import "./style.css";
import {
  ApiError, bytes, type CaseStatus, challenge as getChallenge, recordText, type Sent, sentLog, status as getStatus, submit,
  submitBody, withdraw,
} from "./api";
import { codeNodes, written } from "./codes";
import { $, el } from "./dom";
import {
  date, dir, initialLang, inTime, isKey, LANGS, lang, type Lang, loadHelp, NAMES, num, setLang, size, t, type Key,
} from "./i18n";
import { add, cancelVideo, hooks, type Item, items, restore, solveWork, stopWorker, workerState } from "./pipeline";
import type { MediaRecord } from "./protocol";
import { dropPending, loadPending, loadReceipt, savePending, saveReceipt, type StoredReceipt, wipe } from "./store";

// The help screen's code, like its words, is fetched when help is first opened.
const help = () => import("./help");
const renderHelp = () => help().then((h) => h.renderHelp()).catch(() => {});

const NEUTRAL_SITE = "https://www.google.com/search?q=weather+tomorrow";
const MAX_ITEMS = 100; // the server's MAX_ITEMS_PER_CASE
const MAX_BODY = 2 * 1024 * 1024; // the server's BODY_LIMIT, in bytes
const EXAMPLE: MediaRecord = {
  media: "image",
  hashes: [
    { type: "pdq", value: "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", quality: 100 },
    { type: "md5", value: "3d0e4a6b9d8c3a1e8b5f1f1a8c2e0d47" },
    { type: "sha256", value: "9a1c6f0e3b7d2a85c4e1f6b0d93a7e2c5b8f1d4a6e0c3b9f7a2d5e8c1b4f6a03" },
  ],
};


// ---------------------------------------------------------------- state
let receipt: StoredReceipt | null = loadReceipt();
let caseShown: CaseStatus | null = null;
let pendingConfirm: number[] | null | undefined; // undefined: nothing to confirm; null: withdraw all
let leaveTo: "back" | "done" | null = null; // the receipt's "have you saved it?" question is open
let justOnline = false;
let exiting = false;
let loadDepth = 0; // the history entry this page was loaded in (0: the app's first)

/** Status lines are kept as keys and variables made on demand, not text, so that a language
 * switch rewrites them (numbers and waiting times included). */
type Vars = () => Record<string, string | number>;
const said = new Map<string, [Key, Vars] | null>();
function say(id: string, key: Key | null, vars: Vars = () => ({})) {
  said.set(id, key ? [key, vars] : null);
  $(id).textContent = key ? t(key, vars()) : "";
}
const live = () => items.filter((i) => !i.removed && !i.sent);
const ready = () => live().filter((i) => i.state === "done");
/** The ready items that go into one case: the first ones, as many as the server takes in one
 * body (MAX_ITEMS, MAX_BODY bytes: a hundred long videos are more). The rest wait for another. */
function forOneCase(): Item[] {
  const chosen: Item[] = [];
  let total = bytes(submitBody([]));
  for (const item of ready()) {
    total += bytes(recordText(item.record!)) + 2; // and ",\n"
    if (chosen.length === MAX_ITEMS || (total > MAX_BODY && chosen.length)) break;
    chosen.push(item);
  }
  return chosen;
}
const busy = () => live().some((i) => i.state === "waiting" || i.state === "decoding" || i.state === "hashing");
/** "Photo 2" or "Video 3": items are numbered in the order sent, as the case's status lists them. */
const itemName = (media: string, n: number) => t(media === "video" ? "media.video" : "media.image", { n });

// ---------------------------------------------------------------- screens and history
// Each screen is a history entry: the phone's Back goes to the previous screen, and a reload
// comes back to the same one (the receipt and unsent hashes are kept, see store.ts).
type Screen = "intro" | "pick" | "review" | "receipt" | "status" | "help" | "sent";
const SCREENS: readonly Screen[] = ["intro", "pick", "review", "receipt", "status", "help", "sent"];
let screen: Screen = "intro";

const depth = (): number => history.state?.depth ?? 0; // entries of this app before this one

async function show(next: Screen, how: "push" | "replace" | "none" = "push", focus = true) {
  if (next === "receipt" && !receipt) next = "intro";
  if (next === "help") await loadHelp().catch(() => {}); // not reachable: the words stay empty
  if (exiting) return;
  if (how === "push" && next !== screen) history.pushState({ screen: next, depth: depth() + 1 }, "");
  else if (how !== "none") history.replaceState({ screen: next, depth: depth() }, "");
  screen = next;
  for (const s of document.querySelectorAll<HTMLElement>(".screen")) s.hidden = s.id !== "screen-" + next;
  $("to-sent").hidden = next === "sent";
  document.documentElement.dataset.screen = next;
  render();
  if (next === "help") void renderHelp();
  if (focus) {
    $(`${next}-h`).focus();
    window.scrollTo(0, 0);
  }
}

window.addEventListener("popstate", (event) => {
  if (exiting) return;
  const target = (event.state?.screen as Screen | undefined) ?? "intro";
  // Status, help and "what was sent" are side trips from the receipt; anywhere else leaves it.
  const leaving = screen === "receipt" && receipt !== null && !["status", "help", "sent"].includes(target);
  if (leaving && !receipt!.saved) {
    // Back would leave a receipt that may not be saved yet: stay, and ask.
    history.pushState({ screen: "receipt", depth: depth() + 1 }, "");
    askLeave("back");
    return;
  }
  if (leaving) forgetReceipt();
  show(SCREENS.includes(target) ? target : "intro", "none");
});

// Leaving the page (reload, closing the tab, another site) asks first while something would be
// lost or is not saved yet. Browsers show their own words; the receipt and hashes are kept anyway.
window.addEventListener("beforeunload", (event) => {
  if (exiting) return;
  if ((receipt && !receipt.saved) || ready().length || busy()) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// ---------------------------------------------------------------- rendering
function applyStatic() {
  const root = document.documentElement;
  root.lang = lang();
  root.dir = dir();
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    const key = node.dataset.i18n!;
    if (isKey(key)) node.textContent = t(key);
  }
  $("lang").setAttribute("aria-label", t("lang.label"));
  $("exit").setAttribute("aria-label", t("exit.label"));
  $("intro-example").textContent = JSON.stringify(EXAMPLE, null, 2);
  for (const [id, entry] of said) $(id).textContent = entry ? t(entry[0], entry[1]()) : "";
}

function render() {
  applyStatic();
  renderWorkerStatus();
  renderFiles();
  renderReview();
  renderReceipt();
  renderCase();
  renderPending();
  if (screen === "sent") renderSent();
}

function renderWorkerStatus() {
  $("worker-status").textContent =
    workerState === "ready" ? t("worker.ready") : workerState === "failed" ? t("worker.failed") : t("worker.loading");
  $("worker-status").dataset.state = workerState;
}

/** Unsent hashes (made offline, or kept from before a reload): offered on the screens that are
 * not already about sending. Nothing is sent until the person taps "Send now". */
function renderPending() {
  const n = ready().length;
  const box = $("pending");
  box.hidden = n === 0 || !["intro", "status", "help", "sent"].includes(screen) || busy();
  if (box.hidden) return;
  $("pending-count").textContent = t("pending.count", { n: num(n) });
  const online = navigator.onLine;
  $("pending-send").hidden = !online;
  $("pending-note").textContent = !online ? t("pending.offline") : justOnline ? t("pending.online") : "";
}

// ---------------------------------------------------------------- picking and hashing
function fileMessage(item: Item): string {
  if (item.state === "error") return t(item.problem ?? "file.internal");
  if (item.state === "done") return t("file.done");
  if (workerState === "loading") return t("file.preparing"); // Pyodide is still starting
  if (item.frames) return t("file.frame", { n: num(item.frames[0]), total: num(item.frames[1]) });
  if (item.state === "decoding") return t(item.video ? "file.decoding.video" : "file.decoding.image");
  if (item.state === "hashing") return t("file.hashing");
  return t("file.waiting");
}

function renderFiles() {
  const shown = live();
  let n = 0;
  $("file-list").replaceChildren(
    ...shown.map((item) => {
      const li = el("li", "file");
      li.dataset.state = item.state;
      li.dataset.name = item.name;
      if (item.ms !== undefined) li.dataset.ms = String(item.ms);
      if (item.seekMs !== undefined) li.dataset.seekMs = String(item.seekMs);
      const label = item.name || itemName(item.video ? "video" : "image", ++n);
      li.append(el("span", "name", label));
      li.append(el("span", item.state === "error" ? "message error" : "message", fileMessage(item)));
      if (item.state === "decoding" || item.state === "hashing") {
        const bar = el("progress");
        bar.max = 1;
        bar.value = item.fraction;
        bar.setAttribute("aria-label", label);
        li.append(bar);
      }
      return li;
    }),
  );
  const done = shown.filter((i) => i.state === "done").length;
  $("cancel").hidden = !shown.some((i) => i.video && (i.state === "decoding" || i.state === "hashing"));
  // Announced politely: the count, not every progress step.
  const count = shown.length ? t("pick.count", { done: num(done), total: num(shown.length) }) : "";
  if ($("pick-status").textContent !== count) $("pick-status").textContent = count;
  ($("to-review") as HTMLButtonElement).disabled = done === 0 || busy();
  $("files-label").textContent = shown.length ? t("pick.more") : t("pick.button");
  $("files-label").className = shown.length ? "button secondary" : "button primary"; // then, checking is next
  renderPending();
}

hooks.changed = () => { renderFiles(); renderWorkerStatus(); };
hooks.ready = () => {
  render();
  // After the worker is ready, so the service worker's copies come from the HTTP cache.
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
};
hooks.done = (item) => { void savePending({ key: item.key, order: item.job, record: item.record! }); };

$("files").addEventListener("change", () => {
  const input = $("files") as HTMLInputElement;
  add(Array.from(input.files ?? []));
  input.value = "";
});
// Files dragged onto the pick screen (a computer's way of choosing) take the picker's path. A drop
// anywhere is held, so that the browser never opens a photo in place of the app.
const picking = () => !$("screen-pick").hidden;
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  if (e.dataTransfer) e.dataTransfer.dropEffect = picking() ? "copy" : "none";
});
document.addEventListener("drop", (e) => {
  e.preventDefault();
  if (picking()) add(Array.from(e.dataTransfer?.files ?? []));
});
$("cancel").addEventListener("click", cancelVideo);

// ---------------------------------------------------------------- review and send
function renderReview() {
  const chosen = ready();
  $("review-list").replaceChildren(
    ...chosen.map((item, index) => {
      const n = index + 1;
      const name = itemName(item.record!.media, n);
      const li = el("li", "entry");
      li.dataset.name = item.name;
      li.dataset.media = item.record!.media;
      if (item.times) li.dataset.times = JSON.stringify(item.times); // a video's frame times, for tests
      const head = el("div", "entry-head");
      if (item.thumbnail) {
        item.thumbnail.setAttribute("role", "img");
        item.thumbnail.setAttribute("aria-label", t("review.thumb", { n }));
        head.append(item.thumbnail);
      }
      const label = el("div", "entry-label");
      label.append(el("strong", undefined, name));
      const text = recordText(item.record!);
      label.append(el("span", "note", t("review.size", { count: num(item.record!.hashes.length), size: size(bytes(text)) })));
      if (!item.thumbnail) label.append(el("span", "note", t("review.noThumb")));
      head.append(label);
      const remove = el("button", "secondary small", t("review.remove"));
      remove.type = "button";
      remove.setAttribute("aria-label", t("review.removeLabel", { item: name }));
      remove.addEventListener("click", () => {
        item.removed = true;
        void dropPending(item.key);
        render();
        $("review-h").focus();
      });
      head.append(remove);
      const details = el("details");
      details.append(el("summary", undefined, t("review.exact")));
      const pre = el("pre", "json", JSON.stringify(item.record, null, 2));
      pre.dir = "ltr";
      pre.tabIndex = 0;
      pre.setAttribute("aria-label", name);
      details.append(pre);
      li.append(head, details);
      return li;
    }),
  );
  const sending = forOneCase();
  const split = sending.length < chosen.length;
  const body = submitBody(sending.map((i) => i.record!));
  $("review-body").textContent = body;
  $("review-total").textContent = t("review.total", { n: num(sending.length), size: size(bytes(body)) });
  const button = $("submit") as HTMLButtonElement;
  button.textContent = split ? t("review.sendFirst", { max: num(sending.length) }) : t("review.send");
  button.disabled = chosen.length === 0 || submitting;
  if (screen === "review" && !submitting) {
    if (chosen.length === 0) say("review-status", "review.empty");
    else if (split && sending.length === MAX_ITEMS) say("review-status", "review.limit", () => ({ max: num(MAX_ITEMS) }));
    else if (split) say("review-status", "review.limitSize", () => ({ max: num(sending.length) }));
    else if (["review.empty", "review.limit", "review.limitSize"].includes(said.get("review-status")?.[0] ?? "")) {
      say("review-status", null);
    }
  }
}

const problemKey = (e: unknown): [Key, Vars] => {
  if (!(e instanceof ApiError)) return ["error.server", () => ({})];
  if (e.problem === "rate") {
    const until = Date.now() + e.retryAfter * 1000; // the real wait, however late it is read
    return ["error.rate", () => ({ when: inTime(Math.max(1, (until - Date.now()) / 1000)) })];
  }
  return [(({ not_found: "error.not_found", offline: "error.offline", server: "error.server" }) as const)[e.problem], () => ({})];
};

let submitting = false;
/** Sends what one case holds (forOneCase); the rest stay for another. */
async function send(statusId: string) {
  const chosen = forOneCase();
  if (submitting || chosen.length === 0) return;
  submitting = true;
  render();
  say(statusId, "review.sending");
  try {
    // Proof of work for this exact body (docs/API.md), in the hashing worker: ~1 s on a phone,
    // inside the "sending" state the person already sees.
    const body = submitBody(chosen.map((i) => i.record!));
    const { challenge: c, bits } = await getChallenge();
    const answer = await submit(body, { challenge: c, nonce: await solveWork(c, body, bits) });
    receipt = { ...answer, saved: false };
    saveReceipt(receipt);
    for (const item of chosen) {
      item.sent = true;
      item.thumbnail = undefined;
      void dropPending(item.key);
    }
    say(statusId, null);
    justOnline = false;
    submitting = false;
    // The review entry becomes the receipt: Back from the receipt never shows sent hashes again.
    show("receipt", screen === "review" ? "replace" : "push");
  } catch (e) {
    say(statusId, ...problemKey(e));
  } finally {
    submitting = false;
    render();
  }
}
$("submit").addEventListener("click", () => void send("review-status"));
$("pending-send").addEventListener("click", () => void send("pending-status"));
$("pending-review").addEventListener("click", () => show("review"));

window.addEventListener("online", () => { justOnline = true; renderPending(); });
window.addEventListener("offline", () => { justOnline = false; renderPending(); });

// ---------------------------------------------------------------- receipt
function renderReceipt() {
  $("receipt-case").replaceChildren(...(receipt ? codeNodes(receipt.case_id, "-") : []));
  $("receipt-pin").replaceChildren(...(receipt ? codeNodes(receipt.pin, " ") : []));
  $("receipt-date").textContent = receipt ? date(receipt.created) : "";
  $("leave").hidden = leaveTo === null;
}
const receiptText = () =>
  receipt ? t("receipt.text", { case: written(receipt.case_id, "-"), pin: written(receipt.pin, " "), date: receipt.created }) : "";

function askLeave(how: "back" | "done") {
  leaveTo = how;
  renderReceipt();
  $("leave-yes").focus();
}
function forgetReceipt() {
  receipt = null;
  leaveTo = null;
  saveReceipt(null);
}

$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(receiptText());
    say("receipt-status", "receipt.copied");
  } catch {
    say("receipt-status", "receipt.copyFailed");
  }
});
$("download").addEventListener("click", () => {
  const url = URL.createObjectURL(new Blob([receiptText()], { type: "text/plain;charset=utf-8" }));
  const a = el("a");
  a.href = url;
  a.download = `takeback-${receipt ? written(receipt.case_id, "-") : "receipt"}.txt`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});
$("receipt-check").addEventListener("click", () => {
  ($("case-id") as HTMLInputElement).value = receipt ? written(receipt.case_id, "-") : "";
  ($("case-pin") as HTMLInputElement).value = receipt ? written(receipt.pin, " ") : "";
  show("status");
});
$("receipt-done").addEventListener("click", () => {
  if (receipt && !receipt.saved) askLeave("done");
  else { forgetReceipt(); show("intro"); }
});
$("leave-yes").addEventListener("click", () => {
  const how = leaveTo;
  if (receipt) { receipt.saved = true; saveReceipt(receipt); }
  if (how === "back") {
    history.back(); // the entry before the receipt; popstate forgets the saved receipt
  } else {
    forgetReceipt();
    show("intro");
  }
});
$("leave-no").addEventListener("click", () => { leaveTo = null; renderReceipt(); $("receipt-h").focus(); });

// ---------------------------------------------------------------- status and withdraw
function credentials(): [string, string] {
  return [($("case-id") as HTMLInputElement).value.trim(), ($("case-pin") as HTMLInputElement).value.trim()];
}

function renderCase() {
  const view = $("case-view");
  view.hidden = !caseShown;
  if (!caseShown) return;
  // The case number is isolated left to right, so that in Arabic its groups keep their order.
  const code = "\u2066" + written(caseShown.case_id, "-") + "\u2069";
  $("case-title").textContent = t("status.caseTitle", { case: code, date: date(caseShown.created) });
  $("case-items").replaceChildren(
    ...caseShown.items.map((item) => {
      const name = itemName(item.media, item.item);
      const li = el("li", "case-item");
      li.dataset.item = String(item.item);
      li.dataset.status = item.status;
      li.append(el("h3", undefined, name));
      li.append(el("p", undefined, t(item.status === "active" ? "status.active" : "status.withdrawn")));
      if (item.reports && item.reports.matched) {
        const r = item.reports;
        li.append(el("p", "note", [
          t("status.found", { n: num(r.matched) }), t("status.removed", { n: num(r.removed) }),
          t("status.leftUp", { n: num(r.not_removed) }),
        ].join(" · ")));
      }
      if (item.status === "active") {
        const b = el("button", "secondary small", t("status.withdrawOne", { item: name }));
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
    const one = pendingConfirm && caseShown.items.find((i) => i.item === pendingConfirm![0]);
    $("confirm-text").textContent = one ? t("status.confirmOne", { item: itemName(one.media, one.item) }) : t("status.confirmAll");
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
  if (!id || !pin) { say("status-status", "status.missing"); return; }
  say("status-status", "status.checking");
  caseShown = null;
  pendingConfirm = undefined;
  renderCase();
  try {
    caseShown = await getStatus(id, pin);
    say("status-status", null);
  } catch (e) {
    say("status-status", ...problemKey(e));
  }
  renderCase();
  if (caseShown) $("case-title").focus();
});
$("withdraw-all").addEventListener("click", () => askConfirm(null));
$("confirm-no").addEventListener("click", () => { pendingConfirm = undefined; renderCase(); $("check").focus(); });
$("confirm-yes").addEventListener("click", async () => {
  if (!caseShown || pendingConfirm === undefined) return;
  const [, pin] = credentials();
  try {
    caseShown = await withdraw(caseShown.case_id, pin, pendingConfirm ?? undefined);
    say("status-status", "status.withdrawDone");
  } catch (e) {
    say("status-status", ...problemKey(e));
  }
  pendingConfirm = undefined;
  renderCase();
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
  $("sent-total").textContent = t("sent.total", { n: num(rows.length), bytes: num(rows.reduce((n, r) => n + r.bytes, 0)) });
}

// ---------------------------------------------------------------- navigation, help, language
$("start").addEventListener("click", () => show("pick"));
$("to-status").addEventListener("click", () => show("status"));
$("intro-next").addEventListener("click", async () => {
  await show("help", "push", false);
  $("help-next").tabIndex = -1;
  $("help-next").focus();
  $("help-next").scrollIntoView();
});
$("to-review").addEventListener("click", () => { say("review-status", null); show("review"); });
$("help-button").addEventListener("click", () => show("help"));
$("help-country").addEventListener("change", () =>
  void help().then((h) => h.chooseCountry(($("help-country") as HTMLSelectElement).value)));
$("to-sent").addEventListener("click", () => show("sent"));
// "Back" buttons are the browser's Back, so both go the same way through the same checks.
for (const id of ["pick-back", "review-back", "status-back", "help-back", "sent-back"]) {
  $(id).addEventListener("click", () => {
    if (depth() > 0) history.back();
    else show("intro", "replace");
  });
}

const switcher = $("lang") as HTMLSelectElement;
switcher.replaceChildren(...LANGS.map((code) => {
  const option = el("option", undefined, NAMES[code]);
  option.value = code;
  option.lang = code;
  return option;
}));
switcher.addEventListener("change", async () => {
  await setLang(switcher.value as Lang, true);
  if (screen === "help") await loadHelp().catch(() => {});
  render();
  if (screen === "help") void renderHelp();
});

async function quickExit() {
  // Replace, not navigate: the app leaves no entry in the history to go "back" to. The receipt,
  // the language choice and unsent hashes are wiped from this device first.
  exiting = true;
  stopWorker();
  items.length = 0;
  receipt = null;
  caseShown = null;
  document.title = "";
  document.body.replaceChildren();
  await wipe();
  // Back to the app's first history entry when it is this very page (not one from before a
  // reload, which would load the app again), so that the replaced entry leaves no screen of the
  // app behind the Back button.
  const steps = depth();
  if (loadDepth === 0 && steps > 0) {
    await new Promise<void>((resolve) => {
      window.addEventListener("popstate", () => resolve(), { once: true });
      setTimeout(resolve, 500);
      history.go(-steps);
    });
  }
  window.location.replace(NEUTRAL_SITE);
}
$("exit").addEventListener("click", () => void quickExit());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && event.shiftKey) void quickExit();
});

// ---------------------------------------------------------------- start
async function start() {
  const chosen = initialLang();
  try { await setLang(chosen); } catch { await setLang("en"); } // a language chunk not reachable
  switcher.value = lang();
  for (const p of await loadPending()) restore(p.key, p.record);
  loadDepth = depth();
  const wanted = history.state?.screen as Screen | undefined;
  await show(wanted && SCREENS.includes(wanted) ? wanted : "intro", "replace", false);
  document.documentElement.dataset.app = "ready";
}
void start();

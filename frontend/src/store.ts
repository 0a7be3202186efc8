// What the app keeps on this device, and how Quick exit wipes it.
//
// - Unsent hash records, in IndexedDB: so that hashes made offline, or before a reload, are not
//   lost. Hashes only: no picture, thumbnail or file name. Removed once sent or removed.
// - The receipt (case id, PIN, date) and whether the person said they saved it, in this tab's
//   sessionStorage: it survives a reload of the tab and is gone when the tab is closed.
// Every call fails quietly (private modes may refuse storage): the app then works without it.
import type { Receipt } from "./api";
import type { MediaRecord } from "./protocol";

const DB = "takeback";
const PENDING = "pending";
const RECEIPT = "takeback.receipt";

export interface Pending { key: string; order: number; record: MediaRecord }
export interface StoredReceipt extends Receipt { saved: boolean }

let opened: Promise<IDBDatabase | null> | null = null;
function db(): Promise<IDBDatabase | null> {
  opened ??= new Promise((resolve) => {
    try {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(PENDING, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
      request.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  return opened;
}

async function run<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  const d = await db();
  if (!d) return undefined;
  return new Promise((resolve) => {
    try {
      const tx = d.transaction(PENDING, mode);
      const request = work(tx.objectStore(PENDING));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = tx.onabort = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

export const savePending = (p: Pending) => run("readwrite", (s) => { s.put(p); });
export const dropPending = (key: string) => run("readwrite", (s) => { s.delete(key); });
export const loadPending = async (): Promise<Pending[]> =>
  ((await run<Pending[]>("readonly", (s) => s.getAll() as IDBRequest<Pending[]>)) ?? []).sort((a, b) => a.order - b.order);

export function saveReceipt(r: StoredReceipt | null): void {
  try {
    if (r) sessionStorage.setItem(RECEIPT, JSON.stringify(r));
    else sessionStorage.removeItem(RECEIPT);
  } catch { /* storage off */ }
}

export function loadReceipt(): StoredReceipt | null {
  try {
    const text = sessionStorage.getItem(RECEIPT);
    return text ? (JSON.parse(text) as StoredReceipt) : null;
  } catch {
    return null;
  }
}

/** Quick exit: the receipt, the language choice and every pending hash, gone. Settles within
 * `ms` even if the browser is slow to delete the database, so leaving is never held up long. */
export async function wipe(ms = 400): Promise<void> {
  try { sessionStorage.clear(); } catch { /* storage off */ }
  const d = opened ? await opened : null;
  d?.close();
  await Promise.race([
    new Promise<void>((resolve) => {
      try {
        const request = indexedDB.deleteDatabase(DB);
        request.onsuccess = request.onerror = request.onblocked = () => resolve();
      } catch {
        resolve();
      }
    }),
    new Promise<void>((resolve) => setTimeout(resolve, ms)),
  ]);
}

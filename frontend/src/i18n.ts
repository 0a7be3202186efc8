// Ten languages. English is built into the page; each other language is a small chunk of its
// own (locales/<code>.json), fetched from this server only when chosen, so the cold download
// holds one language. The help screen's texts (locales/help/<code>.json) are a chunk of their
// own per language too, fetched when help is opened. The choice comes from the browser and is
// remembered for this tab only.
import en from "./locales/en.json";

type AppKey = keyof typeof en;
type HelpKey = keyof typeof import("./locales/help/en.json"); // a type only: not in the bundle
export type Key = AppKey | HelpKey;
type Table = Record<string, string>;

/** Language codes in the order the switcher lists them; "ar" is written right to left. */
export const LANGS = ["en", "es", "fr", "pt-BR", "de", "it", "pl", "ar", "hi", "uk"] as const;
export type Lang = (typeof LANGS)[number];
const RTL: ReadonlySet<Lang> = new Set(["ar"]);

// Each language's own name, for the switcher before its table is loaded.
export const NAMES: Record<Lang, string> = {
  en: "English", es: "Español", fr: "Français", "pt-BR": "Português (Brasil)", de: "Deutsch",
  it: "Italiano", pl: "Polski", ar: "العربية", hi: "हिन्दी", uk: "Українська",
};

const loaders = import.meta.glob<{ default: Table }>(["./locales/*.json", "!./locales/en.json"]);
const helpLoaders = import.meta.glob<{ default: Table }>("./locales/help/*.json");
const tables: Partial<Record<Lang, Table>> = { en };
const helpTables: Partial<Record<Lang, Table>> = {};
const STORE = "takeback.lang";

/** The first of the browser's languages that the app has (pt-PT reads pt-BR), else English. */
export function browserLang(languages: readonly string[]): Lang {
  for (const tag of languages) {
    const lower = tag.toLowerCase();
    const exact = LANGS.find((l) => l.toLowerCase() === lower);
    if (exact) return exact;
    const base = LANGS.find((l) => l.split("-")[0] === lower.split("-")[0]);
    if (base) return base;
  }
  return "en";
}

let current: Lang = "en";
export const lang = () => current;
export const dir = (l: Lang = current) => (RTL.has(l) ? "rtl" : "ltr");

/** Loads the language's table (once) and makes it current; a choice of the person's is
 * remembered for this tab (a reload keeps it, a new tab follows the browser again). */
export async function setLang(l: Lang, remember = false): Promise<void> {
  if (!tables[l]) tables[l] = (await loaders[`./locales/${l}.json`]()).default;
  current = l;
  if (!remember) return;
  try { sessionStorage.setItem(STORE, l); } catch { /* storage off: the choice lasts this page */ }
}

/** The language this tab chose before, else the browser's. */
export function initialLang(): Lang {
  let saved: string | null = null;
  try { saved = sessionStorage.getItem(STORE); } catch { /* storage off */ }
  if (saved && (LANGS as readonly string[]).includes(saved)) return saved as Lang;
  return browserLang(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

/** Loads the help texts of the current language, once (tests/test_locales.py sees that every
 * language has every key, so no other language's are needed). */
export async function loadHelp(): Promise<void> {
  const l = current;
  if (!helpTables[l]) helpTables[l] = (await helpLoaders[`./locales/help/${l}.json`]()).default;
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = tables[current]?.[key] ?? helpTables[current]?.[key] ?? (en as Table)[key] ?? helpTables.en?.[key] ?? "";
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}

export const isKey = (k: string): k is Key => k in en || (k.startsWith("help.") || k.startsWith("faq."));

// Formatters are made once per language and kind: numbers are formatted on every progress step.
const formats = new Map<string, Intl.NumberFormat>();
function numberFormat(kind: "plain" | "byte" | "kilobyte"): Intl.NumberFormat {
  const key = current + " " + kind;
  if (!formats.has(key)) {
    const unit = kind === "plain" ? {} : { style: "unit", unit: kind, unitDisplay: "short", maximumFractionDigits: 1 } as const;
    formats.set(key, new Intl.NumberFormat(current, unit));
  }
  return formats.get(key)!;
}

/** Numbers and sizes in the current language's digits and separators. */
export const num = (n: number) => numberFormat("plain").format(n);
export const size = (bytes: number) =>
  bytes < 1000 ? numberFormat("byte").format(bytes) : numberFormat("kilobyte").format(bytes / 1000);
/** "in 15 minutes", in the current language. */
export const inTime = (seconds: number) => {
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: "auto" });
  return seconds < 90 ? rtf.format(Math.max(1, Math.ceil(seconds)), "second") : rtf.format(Math.ceil(seconds / 60), "minute");
};
export const date = (iso: string) => {
  const d = new Date(iso + (iso.length === 10 ? "T12:00:00" : ""));
  return isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(current, { dateStyle: "long" }).format(d);
};

// The help screen's data: helplines per country (helplines.json, a file of this build that the
// operator edits) and the participating platforms (GET /api/v1/platforms). Both come from this
// server; the app never loads anything from the services' own sites, it only shows their links.
import { platforms, type Platform } from "./api";
import { el } from "./dom";
import { lang, t, type Key } from "./i18n";

export interface Service {
  name: string;
  kind: "talk" | "report" | "remove";
  ages: "all" | "under18" | "adult";
  url: string;
  phone?: string;
  text?: string;
  source: string;
}
interface Helplines {
  default_country: Record<string, string>;
  international: Service[];
  countries: Record<string, Service[]>;
}

let helplines: Promise<Helplines | null> | null = null;
let platformList: Promise<Platform[] | null> | null = null;
let country = ""; // chosen on the help screen; "" until then (the language's default)


function loadHelplines(): Promise<Helplines | null> {
  helplines ??= fetch("/helplines.json", { credentials: "omit", referrerPolicy: "no-referrer" })
    .then((r) => (r.ok ? (r.json() as Promise<Helplines>) : null))
    .catch(() => null)
    .then((h) => { if (!h) helplines = null; return h; }); // try again next time
  return helplines;
}

function loadPlatforms(): Promise<Platform[] | null> {
  platformList ??= platforms().catch(() => null).then((p) => { if (!p) platformList = null; return p; });
  return platformList;
}

function serviceItem(s: Service): HTMLLIElement {
  const li = el("li", "service");
  const link = el("a", "service-name", s.name);
  link.href = s.url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  li.append(link, el("span", "note", `${t(`help.kind.${s.kind}` as Key)} · ${t(`help.ages.${s.ages}` as Key)}`));
  const contacts = el("span", "contacts");
  if (s.phone) {
    const a = el("a", "contact", t("help.call", { number: s.phone }));
    a.href = "tel:" + s.phone.replace(/[^\d+]/g, "");
    contacts.append(a);
  }
  if (s.text) {
    const a = el("a", "contact", t("help.textTo", { number: s.text }));
    a.href = "sms:" + s.text.replace(/[^\d+]/g, "");
    contacts.append(a);
  }
  if (contacts.childNodes.length) li.append(contacts);
  return li;
}

/** Fills the help screen's lists; called on showing it and on a language change. */
export async function renderHelp(): Promise<void> {
  const select = document.getElementById("help-country") as HTMLSelectElement;
  const services = document.getElementById("help-services")!;
  const everywhere = document.getElementById("help-everywhere")!;
  const note = document.getElementById("help-note")!;
  const data = await loadHelplines();
  if (!data) {
    note.textContent = t("help.unavailable");
    select.replaceChildren();
    services.replaceChildren();
    everywhere.replaceChildren();
  } else {
    const names = new Intl.DisplayNames([lang()], { type: "region" });
    const codes = Object.keys(data.countries).sort((a, b) =>
      (names.of(a) ?? a).localeCompare(names.of(b) ?? b, lang()));
    const chosen = country || data.default_country[lang()] || data.default_country.en || codes[0];
    select.replaceChildren(...codes.map((code) => {
      const option = el("option", undefined, names.of(code) ?? code);
      option.value = code;
      option.selected = code === chosen;
      return option;
    }));
    const list = data.countries[chosen] ?? [];
    services.replaceChildren(...list.map(serviceItem));
    note.textContent = list.length ? "" : t("help.none");
    everywhere.replaceChildren(...data.international.map(serviceItem));
  }
  const out = document.getElementById("help-platforms")!;
  const found = await loadPlatforms();
  if (!found) out.replaceChildren(el("li", "note", t("help.platforms.failed")));
  else if (!found.length) out.replaceChildren(el("li", "note", t("help.platforms.none")));
  else out.replaceChildren(...found.map((p) => el("li", undefined, p.name)));
}

export function chooseCountry(code: string): void {
  country = code;
  void renderHelp();
}

// The whole frontend build: `node frontend/tools/build.mjs [--out DIR] [--no-brotli]`
// -> frontend/dist/ (or DIR)
//
//   1. tools/runtime.mjs: the trimmed Python standard library the worker needs.
//   2. vite build: index.html, the app, the worker (with ../hashing/*.py built in); then
//      Subresource Integrity (sha256) on every script and stylesheet index.html loads.
//   3. Pyodide's runtime files from node_modules/pyodide, under a versioned path.
//   4. Brotli copies (.br) of compressible files, listed with the SHA-256 of their source
//      in precompressed.json so that the server never serves a stale one (--no-brotli skips
//      this: `takeback audit --build` only needs the manifest).
//   5. sw.js (the offline cache: every file of this build but the HEIF decoder's, which it caches
//      when first used) and takeback-manifest.json (the
//      SHA-256 of every served file, the commit, the Pyodide version), which the server
//      publishes at /.well-known/takeback-manifest.json for auditors (docs/AUDIT.md).
//
// Reproducible: the same sources and node_modules give byte-identical files, whatever the
// checkout path, the time or the commit (the commit is written into the manifest only).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { build } from "vite";
import { repo } from "./sources.mjs";

const args = process.argv.slice(2);
const front = join(repo, "frontend");
const outAt = args.indexOf("--out");
const dist = outAt >= 0 ? resolve(args[outAt + 1]) : join(front, "dist");
const brotli = !args.includes("--no-brotli");
if (outAt >= 0 && existsSync(dist) && readdirSync(dist).length && !existsSync(join(dist, "takeback-manifest.json"))) {
  // The directory is emptied below: never one that does not hold an earlier build.
  throw new Error(`--out ${dist}: not empty and not a frontend build; refusing to delete it`);
}
const pyodidePkg = join(repo, "node_modules", "pyodide");
const pyodideVersion = JSON.parse(readFileSync(join(pyodidePkg, "package.json"), "utf8")).version;
const lock = JSON.parse(readFileSync(join(pyodidePkg, "pyodide-lock.json"), "utf8"));
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// The commit goes into the manifest (never into the assets, so that a tarball of the same
// sources builds the same bytes): TAKEBACK_COMMIT if set, else git's HEAD when this is a git
// checkout ("-dirty" when the files the build reads differ from it), else "unknown".
function commit() {
  if (process.env.TAKEBACK_COMMIT) return process.env.TAKEBACK_COMMIT;
  const git = (...a) => execFileSync("git", ["--no-optional-locks", ...a], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    // A tarball unpacked inside some other git checkout is not that checkout's commit.
    if (realpathSync(git("rev-parse", "--show-toplevel")) !== realpathSync(repo)) return "unknown";
    const dirty = git("status", "--porcelain", "--", "frontend", "hashing", "package.json", "package-lock.json") !== "";
    return git("rev-parse", "HEAD") + (dirty ? "-dirty" : "");
  } catch {
    return "unknown";
  }
}

// 1. Trimmed standard library (in a directory of its own, so that two builds can run at once).
const runtimeDir = mkdtempSync(join(tmpdir(), "takeback-runtime-"));
execFileSync(process.execPath, [join(front, "tools", "runtime.mjs"), runtimeDir], { stdio: "inherit", cwd: repo });
const stdlib = readFileSync(join(runtimeDir, "python_stdlib.zip"));
rmSync(runtimeDir, { recursive: true, force: true });
const pyBase = `/pyodide/${pyodideVersion}/`;
const stdlibName = `python_stdlib-${sha256(stdlib).slice(0, 12)}.zip`;

// 2. The app.
rmSync(dist, { recursive: true, force: true });
await build({
  configFile: join(front, "vite.config.ts"),
  logLevel: "warn",
  build: { outDir: dist, emptyOutDir: true },
  define: {
    __PYODIDE_BASE__: JSON.stringify(pyBase),
    __STDLIB_URL__: JSON.stringify(pyBase + stdlibName),
    __LOCK_INFO__: JSON.stringify(lock.info),
  },
});

// Subresource Integrity: the browser refuses a script or stylesheet of the page whose bytes
// are not these. (A worker and the modules it imports cannot carry integrity in any browser
// yet; `takeback audit` checks those.) Same origin, so no CORS is involved.
const sri = (path) => "sha256-" + createHash("sha256").update(readFileSync(join(dist, path))).digest("base64");
const html = readFileSync(join(dist, "index.html"), "utf8").replace(
  /<(script|link)\b[^>]*>/g,
  (tag) => {
    const url = / (?:src|href)="\/([^"]+)"/.exec(tag)?.[1];
    const pinned = tag.startsWith("<script") || / rel="(stylesheet|modulepreload)"/.test(tag);
    if (!url || !pinned || / integrity=/.test(tag)) return tag;
    return tag.replace(/>$/, ` integrity="${sri(url)}">`);
  },
);
writeFileSync(join(dist, "index.html"), html);

// 3. Pyodide's own files (only those it fetches when given stdLibURL and lockFileContents).
const pyDir = join(dist, "pyodide", pyodideVersion);
mkdirSync(pyDir, { recursive: true });
for (const name of ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm"]) {
  copyFileSync(join(pyodidePkg, name), join(pyDir, name));
}
writeFileSync(join(pyDir, stdlibName), stdlib);
// libheif-js (LGPL-3.0) is served unmodified (libheif.js, libheif.wasm: Vite copies them as
// assets); its licence goes beside them.
const heifPkg = join(repo, "node_modules", "libheif-js");
const heifVersion = JSON.parse(readFileSync(join(heifPkg, "package.json"), "utf8")).version;
copyFileSync(join(heifPkg, "libheif-wasm", "LICENSE"), join(dist, "assets", `libheif-js-${heifVersion}.LICENSE.txt`));

// 4. Brotli, cached by content (the 9.6 MB wasm takes ~40 s at quality 11).
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]);
}
const brCache = join(repo, "node_modules", ".cache", "takeback", "br");
mkdirSync(brCache, { recursive: true });
const precompressed = {};
for (const file of brotli ? walk(dist) : []) {
  if (!/\.(js|mjs|css|html|wasm|zip|json|svg|txt)$/.test(file)) continue;
  const src = readFileSync(file);
  if (src.length < 1024) continue;
  const key = sha256(src);
  const cached = join(brCache, key + ".br");
  let br;
  if (existsSync(cached)) {
    br = readFileSync(cached);
  } else {
    br = brotliCompressSync(src, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_LGWIN]: 24,
        [constants.BROTLI_PARAM_SIZE_HINT]: src.length,
      },
    });
    writeFileSync(cached, br);
  }
  if (br.length >= src.length * 0.95) continue;
  writeFileSync(file + ".br", br);
  precompressed[relative(dist, file)] = { source: key, br: sha256(br) };
}
writeFileSync(join(dist, "precompressed.json"), JSON.stringify(precompressed, null, 1) + "\n");

// 5. Offline cache list and the public manifest.
const files = walk(dist)
  .map((f) => relative(dist, f))
  .filter((f) => !f.endsWith(".br") && f !== "precompressed.json")
  .sort();
const manifest = Object.fromEntries(files.map((f) => [f, sha256(readFileSync(join(dist, f)))]));
const version = sha256(JSON.stringify(manifest)).slice(0, 16);
// The HEIF decoder is fetched only when a HEIF photo needs it (src/heic/), never ahead.
const onDemand = files.filter((f) => /^assets\/(heic-worker-[\w-]+\.js|libheif-[\w.-]+)$/.test(f)).map((f) => "/" + f);
if (onDemand.filter((f) => /\.(js|wasm)$/.test(f)).length !== 3) throw new Error(`the HEIF decoder's files: ${onDemand}`);
const precache = ["/", ...files.filter((f) => f !== "index.html").map((f) => "/" + f).filter((f) => !onDemand.includes(f))];
const swTemplate = readFileSync(join(front, "src", "sw.js"), "utf8");
const sw = swTemplate
  .replaceAll("__VERSION__", version)
  .replace("[/*__PRECACHE__*/]", JSON.stringify(precache))
  .replace("[/*__ON_DEMAND__*/]", JSON.stringify(onDemand));
writeFileSync(join(dist, "sw.js"), sw);
manifest["sw.js"] = sha256(sw);
// The manifest of what is served; sw.js included, the manifest itself and .br copies not (an
// auditor checks that each .br decompresses to the listed bytes). "node" is for rebuilding.
const published = { version, commit: commit(), pyodide: pyodideVersion, node: process.version, files: manifest };
writeFileSync(join(dist, "takeback-manifest.json"), JSON.stringify(published, null, 1) + "\n");
const total = walk(dist).reduce((n, f) => n + statSync(f).size, 0);
console.log(`frontend: built ${files.length} files (${(total / 1e6).toFixed(1)} MB with .br copies), version ${version}`);

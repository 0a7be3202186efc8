// The whole frontend build: `node frontend/tools/build.mjs` -> frontend/dist/
//
//   1. tools/runtime.mjs: the trimmed Python standard library the worker needs.
//   2. vite build: index.html, the app, the worker (with ../hashing/*.py built in).
//   3. Pyodide's runtime files from node_modules/pyodide, under a versioned path.
//   4. Brotli copies (.br) of compressible files, listed with the SHA-256 of their source
//      in precompressed.json so that the server never serves a stale one.
//   5. sw.js (the offline cache: every file of this build) and asset-manifest.json
//      (SHA-256 of every file, for anyone who wants to check a deployment).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { build } from "vite";
import { repo } from "./sources.mjs";

const front = join(repo, "frontend");
const dist = join(front, "dist");
const pyodidePkg = join(repo, "node_modules", "pyodide");
const pyodideVersion = JSON.parse(readFileSync(join(pyodidePkg, "package.json"), "utf8")).version;
const lock = JSON.parse(readFileSync(join(pyodidePkg, "pyodide-lock.json"), "utf8"));
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// 1. Trimmed standard library.
const runtimeDir = join(repo, "node_modules", ".cache", "takeback", "runtime");
mkdirSync(runtimeDir, { recursive: true });
execFileSync(process.execPath, [join(front, "tools", "runtime.mjs"), runtimeDir], { stdio: "inherit", cwd: repo });
const stdlib = readFileSync(join(runtimeDir, "python_stdlib.zip"));
const pyBase = `/pyodide/${pyodideVersion}/`;
const stdlibName = `python_stdlib-${sha256(stdlib).slice(0, 12)}.zip`;

// 2. The app.
rmSync(dist, { recursive: true, force: true });
await build({
  configFile: join(front, "vite.config.ts"),
  logLevel: "warn",
  define: {
    __PYODIDE_BASE__: JSON.stringify(pyBase),
    __STDLIB_URL__: JSON.stringify(pyBase + stdlibName),
    __LOCK_INFO__: JSON.stringify(lock.info),
  },
});

// 3. Pyodide's own files (only those it fetches when given stdLibURL and lockFileContents).
const pyDir = join(dist, "pyodide", pyodideVersion);
mkdirSync(pyDir, { recursive: true });
for (const name of ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm"]) {
  copyFileSync(join(pyodidePkg, name), join(pyDir, name));
}
writeFileSync(join(pyDir, stdlibName), stdlib);

// 4. Brotli, cached by content (the 9.6 MB wasm takes ~40 s at quality 11).
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]);
}
const brCache = join(repo, "node_modules", ".cache", "takeback", "br");
mkdirSync(brCache, { recursive: true });
const precompressed = {};
for (const file of walk(dist)) {
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
const precache = ["/", ...files.filter((f) => f !== "index.html" && f !== "asset-manifest.json").map((f) => "/" + f)];
const swTemplate = readFileSync(join(front, "src", "sw.js"), "utf8");
const sw = swTemplate
  .replaceAll("__VERSION__", version)
  .replace("[/*__PRECACHE__*/]", JSON.stringify(precache));
writeFileSync(join(dist, "sw.js"), sw);
manifest["sw.js"] = sha256(sw);
writeFileSync(join(dist, "asset-manifest.json"), JSON.stringify({ version, pyodide: pyodideVersion, files: manifest }, null, 1) + "\n");
const total = walk(dist).reduce((n, f) => n + statSync(f).size, 0);
console.log(`frontend: built ${files.length} files (${(total / 1e6).toFixed(1)} MB with .br copies), version ${version}`);

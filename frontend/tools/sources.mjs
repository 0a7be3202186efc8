// The Python files the worker runs, read from the repository at build time:
// ../hashing/*.py (the same files CPython runs on the server) and src/glue.py.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function pythonSources() {
  const files = {};
  const hashingDir = join(repo, "hashing");
  for (const name of readdirSync(hashingDir).sort()) {
    if (name.endsWith(".py")) files[`hashing/${name}`] = readFileSync(join(hashingDir, name), "utf8");
  }
  files["takeback_glue.py"] = readFileSync(join(repo, "frontend", "src", "glue.py"), "utf8");
  return files;
}

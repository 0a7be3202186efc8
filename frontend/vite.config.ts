import { defineConfig, type Plugin } from "vite";
// @ts-ignore -- plain ES module shared with the build tools
import { pythonSources } from "./tools/sources.mjs";

// `import sources from "virtual:python-sources"`: ../hashing/*.py and src/glue.py, read at
// build time, so the worker carries the very files the server runs.
function pythonSourcesPlugin(): Plugin {
  const id = "virtual:python-sources";
  return {
    name: "takeback-python-sources",
    resolveId: (source) => (source === id ? "\0" + id : null),
    load(loaded) {
      if (loaded !== "\0" + id) return null;
      return "export default " + JSON.stringify(pythonSources()) + ";";
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  publicDir: "public",
  plugins: [pythonSourcesPlugin()],
  worker: { format: "es", plugins: () => [pythonSourcesPlugin()] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});

declare const __PYODIDE_BASE__: string;
declare const __STDLIB_URL__: string;
declare const __LOCK_INFO__: Record<string, unknown>;

declare module "virtual:python-sources" {
  const sources: Record<string, string>;
  export default sources;
}

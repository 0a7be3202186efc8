// Case numbers and PINs, written the way a person copies them by hand: groups of 4 that never
// break across lines, left to right even inside right-to-left text.

/** "7K3M-Q9XA-4TRB-ZW2H" (already grouped) and "123456789012" -> ["7K3M", ...], ["1234", ...].
 * An id of the older form (22 case-sensitive characters) is shown as it is, in one piece. */
export function groups(code: string): string[] {
  if (/^[0-9A-Z]{4}(-[0-9A-Z]{4})+$/.test(code)) return code.split("-");
  if (/^\d{8,}$/.test(code)) return code.match(/.{1,4}/g)!;
  return [code];
}

/** The grouped text, for the clipboard and the text file. */
export const written = (code: string, sep: string) => groups(code).join(sep);

/** <span class="group">…</span> per group, with a separator the line may break after. */
export function codeNodes(code: string, sep: string): Node[] {
  const nodes: Node[] = [];
  groups(code).forEach((g, i) => {
    if (i) nodes.push(document.createTextNode(sep), document.createElement("wbr"));
    const span = document.createElement("span");
    span.className = "group";
    span.textContent = g;
    nodes.push(span);
  });
  return nodes;
}

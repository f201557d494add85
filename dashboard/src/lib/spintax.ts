/**
 * Spintax for the compose preview (SPEC.md "Engagement"): `{Hi|Hello}` becomes one of
 * its options. The same grammar as the server's domain/spintax.py (nesting, `\{` `\}` `\|`
 * escapes, braces without `|` left alone, Jinja2 tags and `<style>` untouched); the
 * choice here is only an example per seed: the server makes its own, per recipient.
 */
type SpinNode = string | { options: SpinNode[][] };

const JINJA: Record<string, string> = { "{{": "}}", "{%": "%}", "{#": "#}" };
const ESCAPES: Record<string, string> = { "\\{": "{", "\\}": "}", "\\|": "|" };
const STYLE = /^<style\b[\s\S]*?<\/style\s*>/i;

export function parseSpintax(text: string): SpinNode[] {
  return sequence(text, 0, true)[0];
}

/** Whether the text has any choice to make. */
export function hasSpintax(text: string): boolean {
  return parseSpintax(text).some((n) => typeof n !== "string");
}

export function spin(text: string, seed: string): string {
  const counter = { n: 0 };
  return parseSpintax(text).map((n) => render(n, seed, counter)).join("");
}

function render(node: SpinNode, seed: string, counter: { n: number }): string {
  if (typeof node === "string") return node;
  counter.n += 1;
  const chosen = node.options[hash(`${seed}\u0000${counter.n}`) % node.options.length];
  return chosen.map((n) => render(n, seed, counter)).join("");
}

function sequence(text: string, start: number, top: boolean): [SpinNode[], number] {
  const nodes: SpinNode[] = [];
  let i = start;
  while (i < text.length) {
    const literal = literalAt(text, i);
    if (literal) {
      nodes.push(literal[0]);
      i += literal[1];
      continue;
    }
    const c = text[i];
    if (!top && (c === "|" || c === "}")) return [nodes, i];
    if (c === "{") {
      const [group, next] = groupAt(text, i);
      nodes.push(...group);
      i = next;
      continue;
    }
    nodes.push(c);
    i += 1;
  }
  return [nodes, i];
}

/** [text, characters consumed] of an escape, a Jinja2 tag or a <style> element at i. */
function literalAt(text: string, i: number): [string, number] | null {
  const pair = text.slice(i, i + 2);
  if (pair in ESCAPES) return [ESCAPES[pair], 2];
  if (pair in JINJA) {
    const end = text.indexOf(JINJA[pair], i + 2);
    const tag = end < 0 ? text.slice(i) : text.slice(i, end + 2);
    return [tag, tag.length];
  }
  if (text[i] === "<") {
    const style = STYLE.exec(text.slice(i));
    if (style) return [style[0], style[0].length];
  }
  return null;
}

function groupAt(text: string, start: number): [SpinNode[], number] {
  const options: SpinNode[][] = [];
  let i = start + 1;
  for (;;) {
    const [nodes, next] = sequence(text, i, false);
    options.push(nodes);
    i = next;
    if (i >= text.length) return [["{", ...options.flatMap((o, k) => (k ? ["|", ...o] : o))], i];
    if (text[i] === "}") break;
    i += 1; // past the |
  }
  if (options.length === 1) return [["{", ...options[0], "}"], i + 1];
  return [[{ options }], i + 1];
}

function hash(text: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let k = 0; k < text.length; k++) {
    h ^= text.charCodeAt(k);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

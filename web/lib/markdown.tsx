// A deliberately tiny Markdown renderer for answers. It builds React elements from text and
// never HTML: `<img onerror=...>` in an answer is shown as those characters. It knows
// paragraphs, "-"/"*"/"1." lists, **bold**, *italic*, `code` and [links](url); a link
// becomes an <a> only when its URL is one of the answer's cited sources (http or https),
// otherwise just its text is shown.
import { Fragment, type ReactNode } from "react";

/** The canonical form of an http(s) URL, or null for anything else (javascript:, data:, ...). */
export function normaliseUrl(raw: string): string | null {
  const trimmed = raw.trim();
  if (!trimmed) return null;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password) return null;
  return url.href;
}

/** The set of links an answer may show: its cited sources' URLs. */
export function allowedLinks(urls: Iterable<string>): Set<string> {
  const allowed = new Set<string>();
  for (const url of urls) {
    const normal = normaliseUrl(url);
    if (normal) allowed.add(normal);
  }
  return allowed;
}

/** The href to use for a link, or null when it is not allowed. */
export function safeHref(raw: string, allowed: ReadonlySet<string>): string | null {
  const normal = normaliseUrl(raw);
  return normal && allowed.has(normal) ? normal : null;
}

// **bold**, `code`, [label](url), *italic*. Underscores are left alone: in medical text they
// are more often part of a name than emphasis.
const INLINE = /(\*\*([^*]+?)\*\*|`([^`]+?)`|\[([^\]\n]{1,300})\]\(([^()\s]{1,2000})\)|\*([^*\s][^*]*?)\*)/;

/** Inline Markdown to React nodes. */
export function renderInline(text: string, allowed: ReadonlySet<string>, depth = 0): ReactNode[] {
  const nodes: ReactNode[] = [];
  let rest = text;
  let key = 0;
  while (rest) {
    const match = depth < 3 ? INLINE.exec(rest) : null;
    if (!match) {
      nodes.push(rest);
      break;
    }
    if (match.index > 0) nodes.push(rest.slice(0, match.index));
    const [whole, , bold, code, label, url, italic] = match;
    const k = `i${depth}-${key++}`;
    if (bold !== undefined) {
      nodes.push(<strong key={k}>{renderInline(bold, allowed, depth + 1)}</strong>);
    } else if (code !== undefined) {
      nodes.push(<code key={k}>{code}</code>);
    } else if (label !== undefined && url !== undefined) {
      const href = safeHref(url, allowed);
      const inner = renderInline(label, allowed, depth + 1);
      nodes.push(
        href ? (
          <a key={k} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {inner}
          </a>
        ) : (
          <Fragment key={k}>{inner}</Fragment>
        ),
      );
    } else if (italic !== undefined) {
      nodes.push(<em key={k}>{renderInline(italic, allowed, depth + 1)}</em>);
    } else {
      nodes.push(whole);
    }
    rest = rest.slice(match.index + whole.length);
  }
  return nodes;
}

type Block = { kind: "p"; lines: string[] } | { kind: "ul" | "ol"; items: string[] };

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
const HEADING = /^\s*#{1,6}\s+(.*)$/;

function blocks(text: string): Block[] {
  const out: Block[] = [];
  for (const chunk of text.replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
    let current: Block | null = null;
    for (const rawLine of chunk.split("\n")) {
      const line = rawLine.replace(HEADING, "$1");
      const bullet = BULLET.exec(line);
      const numbered = bullet ? null : NUMBERED.exec(line);
      if (bullet || numbered) {
        const kind = bullet ? "ul" : "ol";
        const item = (bullet ?? numbered)?.[1] ?? "";
        if (!current || current.kind !== kind) {
          current = { kind, items: [] };
          out.push(current);
        }
        current.items.push(item);
      } else if (line.trim()) {
        if (current && current.kind !== "p") {
          current.items[current.items.length - 1] += ` ${line.trim()}`;
        } else {
          if (!current) {
            current = { kind: "p", lines: [] };
            out.push(current);
          }
          current.lines.push(line.trim());
        }
      }
    }
  }
  return out;
}

/** Block Markdown (paragraphs and lists) to React nodes. */
export function renderMarkdown(text: string, allowed: ReadonlySet<string>): ReactNode[] {
  return blocks(text).map((block, i) => {
    if (block.kind === "p") return <p key={`b${i}`}>{renderInline(block.lines.join(" "), allowed)}</p>;
    const items = block.items.map((item, j) => <li key={`b${i}-${j}`}>{renderInline(item, allowed)}</li>);
    return block.kind === "ul" ? <ul key={`b${i}`}>{items}</ul> : <ol key={`b${i}`}>{items}</ol>;
  });
}

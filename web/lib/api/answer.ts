// The verified answer inside a message (AnswerPublic in the OpenAPI schema). It is still
// checked field by field here: whatever the server (or anything between, such as a cached
// service-worker response) sends, the renderer only ever sees these shapes.

export type AnswerMode = "generated" | "extractive" | "abstained" | "crisis" | "emergency" | "refused";

export interface Citation {
  n: number;
  title: string;
  url: string;
  source: string;
  collection: string;
  chunk_id: string;
  snippet: string;
  score: number;
  /** Indexes (0-based) of the answer sentences this source supports. */
  supports: number[];
}

export interface AnswerSentence {
  text: string;
  citations: number[];
}

export interface SafetyResource {
  name: string;
  contact: string;
}

export interface Answer {
  answer: string;
  sentences: AnswerSentence[];
  citations: Citation[];
  abstained: boolean;
  mode: AnswerMode;
  disclaimer: string;
  resources: SafetyResource[];
  /** The question as searched when Lumen corrected its spelling ("" when it did not). */
  searchedFor: string;
}

const MODES: readonly AnswerMode[] = ["generated", "extractive", "abstained", "crisis", "emergency", "refused"];

export const DEFAULT_DISCLAIMER =
  "This information is for informational purposes only and is not medical advice. " +
  "Talk to a doctor, pharmacist or other qualified clinician about your own situation.";

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function number(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === "number" && Number.isInteger(v)) : [];
}

function record(value: unknown): Record<string, unknown> | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** The answer object, validated; null when there is none. */
export function parseAnswer(raw: unknown): Answer | null {
  const data = record(raw);
  if (!data) return null;
  const mode = MODES.includes(data.mode as AnswerMode) ? (data.mode as AnswerMode) : "generated";
  const sentences = (Array.isArray(data.sentences) ? data.sentences : [])
    .map(record)
    .filter((s): s is Record<string, unknown> => s !== null)
    .map((s) => ({ text: text(s.text), citations: numbers(s.citations) }));
  const citations = (Array.isArray(data.citations) ? data.citations : [])
    .map(record)
    .filter((c): c is Record<string, unknown> => c !== null)
    .map((c, i) => ({
      n: number(c.n, i + 1),
      title: text(c.title) || "Untitled source",
      url: text(c.url),
      source: text(c.source),
      collection: text(c.collection),
      chunk_id: text(c.chunk_id),
      snippet: text(c.snippet),
      score: number(c.score),
      supports: numbers(c.supports),
    }));
  const safety = record(data.safety);
  const resources = (safety && Array.isArray(safety.resources) ? safety.resources : [])
    .map(record)
    .filter((r): r is Record<string, unknown> => r !== null)
    .map((r) => ({ name: text(r.name), contact: text(r.contact) }))
    .filter((r) => r.name || r.contact);
  return {
    answer: text(data.answer),
    sentences,
    citations,
    abstained: data.abstained === true,
    mode,
    disclaimer: text(data.disclaimer) || DEFAULT_DISCLAIMER,
    resources,
    searchedFor: text(data.searched_for),
  };
}

export function isUrgent(answer: Answer | null): boolean {
  return answer !== null && (answer.mode === "crisis" || answer.mode === "emergency");
}

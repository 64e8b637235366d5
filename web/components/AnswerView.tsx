"use client";
// One verified answer: the safety response first when there is one, then the sentences
// with their citation marks, the sources panel, the disclaimer and the feedback buttons.
import { useMemo, type ReactNode } from "react";
import { Feedback } from "@/components/Feedback";
import type { Answer, Citation } from "@/lib/api/answer";
import { allowedLinks, renderInline, renderMarkdown, safeHref } from "@/lib/markdown";

interface Props {
  answer: Answer;
  messageId: string;
  /** Whether feedback can be given (not for crafted or failed answers). */
  feedback?: boolean;
}

function SafetyAlert({ answer }: { answer: Answer }) {
  const crisis = answer.mode === "crisis";
  return (
    <div className={`safety-alert ${crisis ? "safety-crisis" : "safety-emergency"}`} role="alert" data-testid="safety-alert">
      <p className="safety-title">
        {crisis ? "You don't have to go through this alone. Help is available now." : "This may be a medical emergency."}
      </p>
      {answer.resources.length ? (
        <ul className="safety-resources" aria-label="Who to contact now">
          {answer.resources.map((r, i) => (
            <li key={i}>
              <strong>{r.contact}</strong>
              {r.name ? <span> · {r.name}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="safety-text">{renderMarkdown(answer.answer, new Set())}</div>
    </div>
  );
}

function CitationMark({ n, messageId }: { n: number; messageId: string }) {
  return (
    <a className="cite-mark" href={`#cite-${messageId}-${n}`} aria-label={`Source ${n}`}>
      [{n}]
    </a>
  );
}

export function Sources({ citations, messageId, sentenceCount }: { citations: Citation[]; messageId: string; sentenceCount: number }) {
  const headingId = `sources-${messageId}`;
  return (
    <section className="sources" aria-labelledby={headingId} data-testid="sources">
      <h3 id={headingId} className="sources-title">
        Sources ({citations.length})
      </h3>
      <ol className="source-list">
        {citations.map((c) => {
          const href = safeHref(c.url, allowedLinks([c.url]));
          const supports = c.supports.filter((i) => i >= 0 && i < Math.max(sentenceCount, 1000)).map((i) => i + 1);
          return (
            <li key={`${c.n}-${c.chunk_id}`} id={`cite-${messageId}-${c.n}`} className="source" tabIndex={-1}>
              <p className="source-title">
                <span className="source-n">[{c.n}]</span> {c.title}
              </p>
              <p className="source-meta">
                {c.source || "Unknown source"}
                {c.collection ? ` · ${c.collection}` : ""}
              </p>
              {href ? (
                <p>
                  <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="source-link">
                    Open the source<span className="visually-hidden">: {c.title}</span> (new tab)
                  </a>
                </p>
              ) : null}
              {c.snippet ? <blockquote className="snippet">{c.snippet}</blockquote> : null}
              {supports.length ? (
                <p className="source-supports">
                  Supports sentence{supports.length > 1 ? "s" : ""} {supports.join(", ")}
                </p>
              ) : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

export function AnswerView({ answer, messageId, feedback = true }: Props) {
  const allowed = useMemo(() => allowedLinks(answer.citations.map((c) => c.url)), [answer.citations]);
  const urgent = answer.mode === "crisis" || answer.mode === "emergency";

  let body: ReactNode;
  if (urgent) {
    body = null;
  } else if (answer.sentences.length) {
    body = (
      <p className="answer-text">
        {answer.sentences.map((s, i) => (
          <span key={i} className="sentence" data-sentence={i + 1}>
            {renderInline(s.text, allowed)}
            {s.citations.map((n) => (
              <CitationMark key={n} n={n} messageId={messageId} />
            ))}{" "}
          </span>
        ))}
      </p>
    );
  } else {
    body = <div className="answer-text">{renderMarkdown(answer.answer, allowed)}</div>;
  }

  return (
    <div className={`answer answer-${answer.mode}`} data-testid="answer" data-mode={answer.mode}>
      {urgent ? <SafetyAlert answer={answer} /> : null}
      <div className="answer-layout">
        <div className="answer-main">
          {answer.mode === "extractive" ? (
            <p className="badge">Quoted from the sources (Lumen could not verify a written summary)</p>
          ) : null}
          {answer.mode === "abstained" ? <p className="badge">Lumen did not find enough in its sources to answer</p> : null}
          {answer.mode === "refused" ? <p className="badge">Lumen can&apos;t help with this request</p> : null}
          {answer.mode === "generated" ? <p className="badge badge-ok">Verified against the cited sources</p> : null}
          {answer.searchedFor && !urgent ? (
            <p className="searched-for" data-testid="searched-for">
              Searched for: <q>{answer.searchedFor}</q>
            </p>
          ) : null}
          {body}
          <p className="disclaimer-inline">{answer.disclaimer}</p>
          {feedback ? <Feedback messageId={messageId} /> : null}
        </div>
        {answer.citations.length ? (
          <Sources citations={answer.citations} messageId={messageId} sentenceCount={answer.sentences.length} />
        ) : null}
      </div>
    </div>
  );
}

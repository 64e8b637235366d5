"use client";
// Thumbs up or down on an answer, with an optional comment; admins see it.
import { useId, useState, type FormEvent } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { ThumbDown, ThumbUp } from "@/components/Icons";
import { api } from "@/lib/api/client";

export function Feedback({ messageId }: { messageId: string }) {
  const [rating, setRating] = useState<1 | -1 | null>(null);
  const [comment, setComment] = useState("");
  const [sent, setSent] = useState<1 | -1 | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function send(event?: FormEvent) {
    event?.preventDefault();
    if (rating === null) return;
    setBusy(true);
    setError(null);
    try {
      await api.post("/api/v1/messages/{message_id}/feedback", {
        path: { message_id: messageId },
        body: { rating, comment: comment.trim() || null },
      });
      setSent(rating);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="feedback" onSubmit={send} aria-label="Feedback on this answer" data-testid="feedback">
      <div className="feedback-buttons" role="group" aria-labelledby={`${id}-q`}>
        <span id={`${id}-q`} className="feedback-question">
          Was this helpful?
        </span>
        <button
          type="button"
          className="button button-small"
          aria-pressed={rating === 1}
          onClick={() => setRating(1)}
          data-testid="thumbs-up"
        >
          <ThumbUp /> Yes
        </button>
        <button
          type="button"
          className="button button-small"
          aria-pressed={rating === -1}
          onClick={() => setRating(-1)}
          data-testid="thumbs-down"
        >
          <ThumbDown /> No
        </button>
      </div>
      {rating !== null ? (
        <div className="feedback-more">
          <label htmlFor={`${id}-comment`}>Comment (optional)</label>
          <textarea
            id={`${id}-comment`}
            rows={2}
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
          <button type="submit" className="button button-small" disabled={busy}>
            {sent === rating ? "Update feedback" : "Send feedback"}
          </button>
        </div>
      ) : null}
      {sent !== null ? (
        <p role="status" className="feedback-sent">
          Thank you: your feedback was saved.
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} action="Sending feedback" onRetry={() => void send()} /> : null}
    </form>
  );
}

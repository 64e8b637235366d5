"use client";
// One way to show a failed request: what happened, and how to recover.
import { useEffect, useState } from "react";
import { ApiError, messageOf, signInUrl } from "@/lib/api/client";

interface Props {
  error: unknown;
  onRetry?: () => void;
  /** What was being done, e.g. "Loading your conversations". */
  action?: string;
  /** A heading that replaces the default one (sign-in forms: a 401 is a wrong password). */
  title?: string;
}

export function ErrorNotice({ error, onRetry, action, title: givenTitle }: Props) {
  const api = error instanceof ApiError ? error : null;
  const retryAfter = api?.kind === "rate" ? (api.retryAfter ?? 0) : 0;
  const [waiting, setWaiting] = useState(retryAfter);

  useEffect(() => {
    setWaiting(retryAfter);
    if (retryAfter <= 0) return;
    const started = Date.now();
    const timer = window.setInterval(() => {
      const left = retryAfter - Math.floor((Date.now() - started) / 1000);
      setWaiting(Math.max(0, left));
      if (left <= 0) window.clearInterval(timer);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [error, retryAfter]);

  let title = "Something went wrong";
  if (api?.kind === "network") title = "No connection";
  else if (api?.kind === "rate") title = "Too many requests";
  else if (givenTitle) title = givenTitle;
  else if (api?.kind === "auth") title = "Your session has ended";
  else if (api && api.status >= 500) title = "Lumen is having trouble";
  const sessionEnded = api?.kind === "auth" && !givenTitle;

  return (
    <div className="notice notice-error" role="alert" data-testid="error-notice" data-kind={api?.kind ?? "other"}>
      <p className="notice-title">
        {action ? `${action} failed: ` : ""}
        {title}
      </p>
      <p>{messageOf(error)}</p>
      {api?.kind === "rate" && retryAfter > 0 ? (
        <p data-testid="retry-after">
          {waiting > 0 ? `You can try again in ${waiting} s (the server asked to wait ${retryAfter} s).` : "You can try again now."}
        </p>
      ) : null}
      {sessionEnded ? (
        <p>
          <a href={signInUrl("expired")}>Sign in again</a>
        </p>
      ) : onRetry ? (
        <button type="button" className="button" onClick={onRetry} disabled={waiting > 0}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

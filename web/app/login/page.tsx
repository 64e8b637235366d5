"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState, type FormEvent } from "react";
import { PublicShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Field } from "@/components/Field";
import { ApiError, api, safeNext } from "@/lib/api/client";
import { useSession } from "@/lib/session";

function LoginForm() {
  const params = useSearchParams();
  const router = useRouter();
  const { setUser } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [ticket, setTicket] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [useRecovery, setUseRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get("next"));

  useEffect(() => {
    document.title = "Sign in · Lumen";
  }, []);

  async function finish(user: Parameters<typeof setUser>[0]) {
    setUser(user);
    router.replace(next);
  }

  async function submitPassword(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api.post("/api/v1/auth/login", { body: { email, password }, noAuthRedirect: true });
      if (result.mfa_required && result.ticket) {
        setTicket(result.ticket);
        setPassword("");
      } else {
        await finish(result.user ?? null);
      }
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function submitCode(event: FormEvent) {
    event.preventDefault();
    if (!ticket) return;
    setBusy(true);
    setError(null);
    try {
      const body = useRecovery ? { ticket, recovery_code: code.trim() } : { ticket, code: code.replace(/\s/g, "") };
      const result = await api.post("/api/v1/auth/login/mfa", { body, noAuthRedirect: true });
      await finish(result.user ?? null);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;

  return (
    <PublicShell>
      <h1>Sign in to Lumen</h1>
      {params.get("expired") ? (
        <p className="notice" role="status">
          Your session has ended. Sign in again to carry on where you were.
        </p>
      ) : null}
      {params.get("signedout") ? (
        <p className="notice" role="status">
          You are signed out.
        </p>
      ) : null}
      {params.get("deleted") ? (
        <p className="notice" role="status">
          Your account and everything in it have been deleted.
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} title="Sign-in failed" /> : null}
      {!ticket ? (
        <form onSubmit={submitPassword} className="stack" noValidate={false}>
          <Field
            label="E-mail"
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={apiError?.fieldMessage("email")}
          />
          <Field
            label="Password"
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={apiError?.fieldMessage("password")}
          />
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
          <p>
            New to Lumen? <Link href="/signup">Create an account</Link>
          </p>
        </form>
      ) : (
        <form onSubmit={submitCode} className="stack" aria-labelledby="mfa-heading">
          <h2 id="mfa-heading">Two-step verification</h2>
          {useRecovery ? (
            <Field
              autoFocus
              label="Recovery code"
              hint="One of the codes you saved when you turned on two-step verification. Each works once."
              name="recovery_code"
              autoComplete="off"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
              error={apiError?.fieldMessage("recovery_code")}
            />
          ) : (
            <Field
              label="Code from your authenticator app"
              hint="Six digits."
              name="code"
              autoFocus
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]*"
              maxLength={8}
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
              error={apiError?.fieldMessage("code")}
            />
          )}
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? "Checking…" : "Verify"}
          </button>
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setUseRecovery(!useRecovery);
              setCode("");
              setError(null);
            }}
          >
            {useRecovery ? "Use a code from the app instead" : "Use a recovery code instead"}
          </button>
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setTicket(null);
              setCode("");
              setError(null);
            }}
          >
            Start over
          </button>
        </form>
      )}
    </PublicShell>
  );
}

export default function LoginPage() {
  return (
    <Suspense fallback={<p role="status">Loading…</p>}>
      <LoginForm />
    </Suspense>
  );
}

"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { PublicShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Field } from "@/components/Field";
import { ApiError, api } from "@/lib/api/client";
import { useSession } from "@/lib/session";

const MIN_LENGTH = 15;

export default function SignUpPage() {
  const router = useRouter();
  const { setUser } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [show, setShow] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = "Create an account · Lumen";
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (password.length < MIN_LENGTH) {
      setError(
        new ApiError(422, "validation_error", `Use at least ${MIN_LENGTH} characters.`, [
          { field: "password", message: `Use at least ${MIN_LENGTH} characters; a few random words work well.` },
        ]),
      );
      return;
    }
    setBusy(true);
    try {
      await api.post("/api/v1/auth/signup", { body: { email, password }, noAuthRedirect: true });
      const session = await api.post("/api/v1/auth/login", { body: { email, password }, noAuthRedirect: true });
      setUser(session.user ?? null);
      router.replace("/chat");
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  return (
    <PublicShell>
      <h1>Create your Lumen account</h1>
      <p>
        Lumen answers health questions from trusted sources and shows where each sentence comes from. It does not
        replace a clinician.
      </p>
      {error ? <ErrorNotice error={error} title="The account was not created" /> : null}
      <form onSubmit={submit} className="stack">
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
          hint={`At least ${MIN_LENGTH} characters. Any characters; a few random words work well.`}
          type={show ? "text" : "password"}
          name="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={apiError?.fieldMessage("password")}
        />
        <label className="checkbox">
          <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> Show password
        </label>
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Creating your account…" : "Create account"}
        </button>
        <p>
          Already have an account? <Link href="/login">Sign in</Link>
        </p>
      </form>
    </PublicShell>
  );
}

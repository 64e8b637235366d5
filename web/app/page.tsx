"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { PublicShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { useSession } from "@/lib/session";

export default function Home() {
  const { state, refresh } = useSession();
  const router = useRouter();

  useEffect(() => {
    if (state.status === "signed-in") router.replace("/chat");
    if (state.status === "signed-out") router.replace("/login");
  }, [state.status, router]);

  return (
    <PublicShell>
      <h1>Lumen</h1>
      <p>A medical assistant whose answers cite their sources.</p>
      {state.status === "error" ? (
        <ErrorNotice error={state.error} action="Starting Lumen" onRetry={() => void refresh()} />
      ) : (
        <p role="status" className="muted">
          Loading…
        </p>
      )}
      <p>
        <Link href="/login">Sign in</Link> or <Link href="/signup">create an account</Link>.
      </p>
    </PublicShell>
  );
}

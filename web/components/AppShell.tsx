"use client";
// The frame of every signed-in page: header, navigation, and the check that someone is
// signed in (with the right role) before the page itself renders.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { api, signInUrl, type Role, type User } from "@/lib/api/client";
import { useSession } from "@/lib/session";

interface Props {
  title: string;
  roles?: Role[];
  children: (user: User) => ReactNode;
  wide?: boolean;
}

const LINKS: { href: string; label: string; roles?: Role[] }[] = [
  { href: "/chat", label: "Ask" },
  { href: "/history", label: "History" },
  { href: "/profile", label: "Profile", roles: ["patient"] },
  { href: "/settings", label: "Settings" },
  { href: "/documents", label: "Documents", roles: ["admin", "pharma"] },
  { href: "/admin", label: "Admin", roles: ["admin"] },
];

export function Header({ user }: { user: User | null }) {
  const pathname = usePathname();
  const [busy, setBusy] = useState(false);

  async function signOut() {
    setBusy(true);
    try {
      await api.post("/api/v1/auth/logout", { noAuthRedirect: true });
    } catch {
      // the session may already be over; sign out locally all the same
    }
    // A full page load: nothing of this session stays in memory.
    window.location.assign("/login?signedout=1");
  }

  return (
    <header className="site-header">
      <div className="header-inner">
        <Link href={user ? "/chat" : "/login"} className="brand">
          <span aria-hidden="true" className="brand-mark">
            L
          </span>
          <span>Lumen</span>
        </Link>
        {user ? (
          <nav aria-label="Main">
            <ul className="nav-list">
              {LINKS.filter((l) => !l.roles || l.roles.includes(user.role)).map((link) => (
                <li key={link.href}>
                  <Link href={link.href} aria-current={pathname === link.href ? "page" : undefined}>
                    {link.label}
                  </Link>
                </li>
              ))}
              <li>
                <button type="button" className="link-button" onClick={signOut} disabled={busy}>
                  Sign out
                </button>
              </li>
            </ul>
          </nav>
        ) : null}
      </div>
    </header>
  );
}

export function AppShell({ title, roles, children, wide }: Props) {
  const { state, refresh } = useSession();

  useEffect(() => {
    document.title = `${title} · Lumen`;
  }, [title]);

  useEffect(() => {
    if (state.status === "signed-out") window.location.assign(signInUrl("signin"));
  }, [state.status]);

  let body: ReactNode;
  if (state.status === "loading" || state.status === "signed-out") {
    body = (
      <p className="muted" role="status">
        Loading…
      </p>
    );
  } else if (state.status === "error") {
    body = <ErrorNotice error={state.error} action="Checking your session" onRetry={() => void refresh()} />;
  } else if (roles && !roles.includes(state.user.role)) {
    body = (
      <div className="notice" role="alert">
        <p className="notice-title">Not available</p>
        <p>This page is for {roles.join(" or ")} accounts.</p>
        <p>
          <Link href="/chat">Back to Ask</Link>
        </p>
      </div>
    );
  } else {
    body = children(state.user);
  }

  return (
    <>
      <Header user={state.status === "signed-in" ? state.user : null} />
      <main id="main" className={wide ? "main main-wide" : "main"} tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

/** The frame of the pages for people who are not signed in. */
export function PublicShell({ children }: { children: ReactNode }) {
  return (
    <>
      <Header user={null} />
      <main id="main" className="main main-narrow" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

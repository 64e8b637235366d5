"use client";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useCallback, useEffect, useState, type FormEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { ThumbDown, ThumbUp } from "@/components/Icons";
import { api, type Role, type Schemas, type User } from "@/lib/api/client";

const TABS = [
  { id: "users", label: "Users and roles" },
  { id: "audit", label: "Audit log" },
  { id: "index", label: "Index" },
  { id: "feedback", label: "Feedback" },
] as const;
type Tab = (typeof TABS)[number]["id"];
const ROLES: Role[] = ["patient", "pharma", "admin"];
const PAGE = 50;

function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

function Pager({ offset, total, onChange }: { offset: number; total: number; onChange: (offset: number) => void }) {
  if (total <= PAGE) return null;
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" className="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - PAGE))}>
        Previous
      </button>
      <span>
        {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
      </span>
      <button type="button" className="button" disabled={offset + PAGE >= total} onClick={() => onChange(offset + PAGE)}>
        Next
      </button>
    </nav>
  );
}

function UserRow({ user, me, onSaved }: { user: User; me: User; onSaved: () => void }) {
  const [role, setRole] = useState<Role>(user.role);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.patch("/api/v1/admin/users/{user_id}", { path: { user_id: user.id }, body: { role } });
      onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr data-testid="user-row">
      <td>{user.email}</td>
      <td>{user.two_factor_enabled ? "on" : "off"}</td>
      <td>{formatDate(user.last_login_at)}</td>
      <td>
        <form onSubmit={save} className="inline-form">
          <label htmlFor={`role-${user.id}`} className="visually-hidden">
            Role of {user.email}
          </label>
          <select id={`role-${user.id}`} value={role} onChange={(e) => setRole(e.target.value as Role)} disabled={user.id === me.id}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          {user.id !== me.id ? (
            <button type="submit" className="button button-small" disabled={busy || role === user.role}>
              Save<span className="visually-hidden"> role of {user.email}</span>
            </button>
          ) : (
            <span className="muted">(you)</span>
          )}
        </form>
        {error ? <ErrorNotice error={error} /> : null}
      </td>
    </tr>
  );
}

function Users({ me }: { me: User }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Schemas["Page_UserPublic_"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const load = useCallback(async () => {
    setError(null);
    try {
      setPage(await api.get("/api/v1/admin/users", { query: { limit: PAGE, offset } }));
    } catch (caught) {
      setError(caught);
    }
  }, [offset]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users and roles</h2>
      <p>Changing a role ends that user&apos;s sessions.</p>
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      <p role="status" className={note ? "notice notice-ok" : "visually-hidden"}>
        {note}
      </p>
      {page ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Accounts table">
          <table>
            <caption className="visually-hidden">All accounts</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Two-step</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((u) => (
                <UserRow
                  key={`${u.id}-${u.role}`}
                  user={u}
                  me={me}
                  onSaved={() => {
                    setNote(`Role of ${u.email} changed.`);
                    void load();
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page ? <Pager offset={offset} total={page.total} onChange={setOffset} /> : null}
    </section>
  );
}

function Audit() {
  const [offset, setOffset] = useState(0);
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [filters, setFilters] = useState({ action: "", actor: "" });
  const [page, setPage] = useState<Schemas["Page_AuditEventPublic_"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [verify, setVerify] = useState<Schemas["AuditVerification"] | null>(null);
  const [verifyError, setVerifyError] = useState<unknown>(null);
  const [verifying, setVerifying] = useState(false);

  const load = useCallback(async () => {
    setError(null);
    try {
      setPage(
        await api.get("/api/v1/admin/audit", {
          query: { limit: PAGE, offset, action: filters.action || undefined, actor_id: filters.actor || undefined },
        }),
      );
    } catch (caught) {
      setError(caught);
    }
  }, [offset, filters]);
  useEffect(() => {
    void load();
  }, [load]);

  async function runVerify() {
    setVerifying(true);
    setVerifyError(null);
    setVerify(null);
    try {
      setVerify(await api.get("/api/v1/admin/audit/verify"));
    } catch (caught) {
      setVerifyError(caught);
    } finally {
      setVerifying(false);
    }
  }

  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <div className="row">
        <button type="button" className="button button-primary" onClick={() => void runVerify()} disabled={verifying}>
          {verifying ? "Verifying…" : "Verify the hash chain"}
        </button>
      </div>
      {verifyError ? <ErrorNotice error={verifyError} action="Verification" onRetry={() => void runVerify()} /> : null}
      {verify ? (
        <p role="status" className={verify.ok ? "notice notice-ok" : "notice notice-error"} data-testid="audit-verify">
          {verify.ok
            ? `The audit chain is intact: ${verify.checked} rows checked.`
            : `The audit chain is broken at row ${verify.first_bad_seq ?? "?"}: ${verify.reason ?? "unknown reason"} (${verify.checked} rows verified before it).`}
        </p>
      ) : null}
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setFilters({ action: action.trim(), actor: actor.trim() });
        }}
      >
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <input id="audit-action" value={action} placeholder="e.g. auth.login" onChange={(e) => setAction(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="audit-actor">Actor id</label>
          <input id="audit-actor" value={actor} onChange={(e) => setActor(e.target.value)} />
        </div>
        <button type="submit" className="button">
          Filter
        </button>
      </form>
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      {page ? (
        <>
          <p className="muted">{page.total} events</p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit events table">
            <table>
              <caption className="visually-hidden">Audit events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Object</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((e) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{formatDate(e.ts)}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>{e.outcome}</td>
                    <td className="mono-small">
                      {e.actor_role ?? "—"} {e.actor_id ? e.actor_id.slice(0, 8) : ""}
                    </td>
                    <td className="mono-small">
                      {e.object_type ?? ""} {e.object_id ? e.object_id.slice(0, 8) : ""}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} total={page.total} onChange={setOffset} />
        </>
      ) : null}
    </section>
  );
}

function IndexStats() {
  const [stats, setStats] = useState<Schemas["IndexStats"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    setError(null);
    try {
      setStats(await api.get("/api/v1/admin/index"));
    } catch (caught) {
      setError(caught);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="index-heading">
      <h2 id="index-heading">Index</h2>
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      {stats ? (
        <>
          <p>Embedding model: {stats.embedding_model ?? "not recorded"}</p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Collections table">
            <table data-testid="index-stats">
              <caption className="visually-hidden">Collections in the vector store</caption>
              <thead>
                <tr>
                  <th scope="col">Collection</th>
                  <th scope="col">Documents</th>
                  <th scope="col">Chunks</th>
                  <th scope="col">Sources</th>
                </tr>
              </thead>
              <tbody>
                {stats.collections.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>{c.documents}</td>
                    <td>{c.points}</td>
                    <td>
                      {Object.entries(c.sources).length
                        ? Object.entries(c.sources)
                            .map(([s, n]) => `${s}: ${n}`)
                            .join(", ")
                        : "empty: run lumen ingest"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

function FeedbackList() {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Schemas["Page_FeedbackPublic_"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    setError(null);
    try {
      setPage(await api.get("/api/v1/admin/feedback", { query: { limit: PAGE, offset } }));
    } catch (caught) {
      setError(caught);
    }
  }, [offset]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="feedback-heading">
      <h2 id="feedback-heading">Feedback on answers</h2>
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      {page ? (
        page.items.length ? (
          <>
            <ul className="feedback-list" data-testid="feedback-list">
              {page.items.map((f) => (
                <li key={f.id} className="card">
                  <p>
                    <strong className="rating">
                      {f.rating > 0 ? <ThumbUp /> : <ThumbDown />} {f.rating > 0 ? "Helpful" : "Not helpful"}
                    </strong>{" "}
                    <span className="muted">
                      {formatDate(f.created_at)} · message {f.message_id.slice(0, 8)} · user {f.user_id.slice(0, 8)}
                    </span>
                  </p>
                  {f.comment ? <p className="feedback-comment">{f.comment}</p> : <p className="muted">No comment.</p>}
                </li>
              ))}
            </ul>
            <Pager offset={offset} total={page.total} onChange={setOffset} />
          </>
        ) : (
          <p>No feedback yet.</p>
        )
      ) : null}
    </section>
  );
}

function Admin({ me }: { me: User }) {
  const params = useSearchParams();
  const tab: Tab = (TABS.find((t) => t.id === params.get("tab"))?.id ?? "users") as Tab;
  return (
    <>
      <h1>Administration</h1>
      <nav aria-label="Administration sections" className="tabs">
        <ul>
          {TABS.map((t) => (
            <li key={t.id}>
              <Link href={`/admin?tab=${t.id}`} aria-current={tab === t.id ? "page" : undefined}>
                {t.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {tab === "users" ? <Users me={me} /> : null}
      {tab === "audit" ? <Audit /> : null}
      {tab === "index" ? <IndexStats /> : null}
      {tab === "feedback" ? <FeedbackList /> : null}
    </>
  );
}

export default function AdminPage() {
  return (
    <AppShell title="Admin" roles={["admin"]} wide>
      {(user) => (
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Admin me={user} />
        </Suspense>
      )}
    </AppShell>
  );
}

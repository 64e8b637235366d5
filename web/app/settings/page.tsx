"use client";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Field } from "@/components/Field";
import { ApiError, api, type Schemas, type User } from "@/lib/api/client";
import { useSession } from "@/lib/session";

type Session = Schemas["SessionPublic"];

function formatDate(value: string | null | undefined): string {
  if (!value) return "never";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="notice notice-ok" data-testid="recovery-codes">
      <p className="notice-title">Save these recovery codes now</p>
      <p>Each one signs you in once if you lose your phone. They are shown only this time.</p>
      <ul className="codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <button type="button" className="button" onClick={onDone}>
        I have saved them
      </button>
    </div>
  );
}

function ConfirmPassword({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string }) {
  return (
    <Field
      label="Password (to confirm)"
      type="password"
      autoComplete="current-password"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
    />
  );
}

function TwoFactor({ user }: { user: User }) {
  const { refresh } = useSession();
  const [setup, setSetup] = useState<Schemas["TotpSetup"] | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState("");

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setNote("");
    try {
      await action();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const begin = () =>
    run(async () => {
      setSetup(await api.post("/api/v1/auth/totp/setup"));
    });

  const enable = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const result = await api.post("/api/v1/auth/totp/enable", { body: { code: code.replace(/\s/g, ""), password } });
      setCodes(result.recovery_codes);
      setSetup(null);
      setCode("");
      setPassword("");
      await refresh();
    });
  };

  const disable = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api.post("/api/v1/auth/totp/disable", { body: { password } });
      setPassword("");
      setNote("Two-step verification is off.");
      await refresh();
    });
  };

  const regenerate = () =>
    run(async () => {
      const result = await api.post("/api/v1/auth/totp/recovery-codes", { body: { password } });
      setPassword("");
      setCodes(result.recovery_codes);
    });

  const apiError = error instanceof ApiError ? error : null;
  return (
    <section className="card stack" aria-labelledby="twofa-heading">
      <h2 id="twofa-heading">Two-step verification</h2>
      <p>
        Status:{" "}
        <strong data-testid="twofa-status">{user.two_factor_enabled ? "on" : "off"}</strong>
      </p>
      {codes ? <RecoveryCodes codes={codes} onDone={() => setCodes(null)} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
      {note ? (
        <p role="status" className="notice notice-ok">
          {note}
        </p>
      ) : null}
      {!user.two_factor_enabled && !setup ? (
        <div>
          <p>Add a code from an authenticator app to your password when you sign in.</p>
          <button type="button" className="button button-primary" onClick={begin} disabled={busy}>
            Set up two-step verification
          </button>
        </div>
      ) : null}
      {!user.two_factor_enabled && setup ? (
        <form onSubmit={enable} className="stack">
          <p>In your authenticator app, add an account with this key (or paste the setup link).</p>
          <div className="field">
            <span className="label-like" id="totp-secret-label">
              Key
            </span>
            <code className="secret" aria-labelledby="totp-secret-label" data-testid="totp-secret">
              {setup.secret.replace(/(.{4})/g, "$1 ").trim()}
            </code>
          </div>
          <div className="field">
            <label htmlFor="totp-uri">Setup link (otpauth)</label>
            <input id="totp-uri" readOnly value={setup.otpauth_uri} onFocus={(e) => e.target.select()} data-testid="totp-uri" />
          </div>
          <Field
            label="The six-digit code your app shows"
            name="totp-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={apiError?.fieldMessage("code")}
          />
          <ConfirmPassword value={password} onChange={setPassword} error={apiError?.fieldMessage("password")} />
          <div className="row">
            <button type="submit" className="button button-primary" disabled={busy}>
              Turn on
            </button>
            <button type="button" className="button" onClick={() => setSetup(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {user.two_factor_enabled ? (
        <form onSubmit={disable} className="stack">
          <ConfirmPassword value={password} onChange={setPassword} error={apiError?.fieldMessage("password")} />
          <div className="row">
            <button type="button" className="button" onClick={regenerate} disabled={busy || !password}>
              New recovery codes
            </button>
            <button type="submit" className="button button-danger" disabled={busy}>
              Turn off
            </button>
          </div>
        </form>
      ) : null}
    </section>
  );
}

function Password() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await api.post("/api/v1/auth/password", { body: { current_password: current, new_password: next } });
      setCurrent("");
      setNext("");
      setDone(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form onSubmit={submit} className="stack">
        <Field label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={apiError?.fieldMessage("current_password")} />
        <Field label="New password" hint="At least 15 characters (8 with two-step verification on)." type="password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} error={apiError?.fieldMessage("new_password")} />
        {error ? <ErrorNotice error={error} /> : null}
        {done ? (
          <p role="status" className="notice notice-ok">
            Password changed. Your other sessions have ended and your API keys were revoked.
          </p>
        ) : null}
        <button type="submit" className="button" disabled={busy}>
          Change password
        </button>
      </form>
    </section>
  );
}

function Sessions() {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setSessions(await api.get("/api/v1/me/sessions"));
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function revoke(id: string) {
    setError(null);
    try {
      await api.delete("/api/v1/me/sessions/{session_id}", { path: { session_id: id } });
      await load();
    } catch (caught) {
      setError(caught);
    }
  }

  async function everywhere() {
    setError(null);
    try {
      await api.post("/api/v1/auth/logout-all");
      window.location.assign("/login?signedout=1");
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section className="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Where you are signed in</h2>
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      {sessions ? (
        <ul className="session-list" data-testid="sessions">
          {sessions.map((s) => (
            <li key={s.id} className="session">
              <div>
                <p className="session-agent">
                  {s.user_agent || "Unknown browser"} {s.current ? <strong>(this browser)</strong> : null}
                </p>
                <p className="muted">
                  {s.ip ? `${s.ip} · ` : ""}signed in {formatDate(s.created_at)} · last seen {formatDate(s.last_seen)}
                </p>
              </div>
              {!s.current ? (
                <button type="button" className="button button-small" onClick={() => void revoke(s.id)}>
                  Sign out this session
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        !error && <p className="muted">Loading…</p>
      )}
      <p className="muted">Signing out everywhere also revokes your API keys.</p>
      <button type="button" className="button" onClick={() => void everywhere()}>
        Sign out everywhere
      </button>
    </section>
  );
}

type ApiKey = Schemas["ApiKeyPublic"];

function keyState(key: ApiKey): string {
  if (key.revoked_at) return "revoked";
  if (!key.active) return "expired";
  return "active";
}

function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [store, setStore] = useState(true);
  const [created, setCreated] = useState<Schemas["ApiKeyCreated"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [origin, setOrigin] = useState("");

  const load = useCallback(async () => {
    setError(null);
    try {
      setKeys(await api.get("/api/v1/me/api-keys"));
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    setOrigin(window.location.origin);
    void load();
  }, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result = await api.post("/api/v1/me/api-keys", {
        body: { name: name.trim(), expires_in_days: expires ? Number(expires) : null, store_conversations: store },
      });
      setCreated(result);
      setName("");
      await load();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(key: ApiKey) {
    setError(null);
    try {
      await api.delete("/api/v1/me/api-keys/{key_id}", { path: { key_id: key.id } });
      await load();
    } catch (caught) {
      setError(caught);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  return (
    <section className="card stack" aria-labelledby="apikeys-heading">
      <h2 id="apikeys-heading">API keys</h2>
      <p>
        Apps that speak the OpenAI API can ask Lumen with a key: base URL <code>{origin}/v1</code>, model{" "}
        <code>lumen</code>. A key acts as you, with your role, until you revoke it.
      </p>
      {created ? (
        <div className="notice notice-ok" data-testid="new-api-key">
          <p className="notice-title">Copy your new key now</p>
          <p>It is shown only this time; Lumen keeps only a fingerprint of it.</p>
          <code className="secret" data-testid="new-api-key-secret">
            {created.key}
          </code>
          <button type="button" className="button" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      <form onSubmit={create} className="stack">
        <Field
          label="Name"
          hint="What the key is for, e.g. the app that uses it."
          maxLength={100}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={apiError?.fieldMessage("name")}
        />
        <div className="field">
          <label htmlFor="apikey-expiry">Expires</label>
          <select id="apikey-expiry" value={expires} onChange={(e) => setExpires(e.target.value)}>
            <option value="">Never</option>
            <option value="30">In 30 days</option>
            <option value="90">In 90 days</option>
            <option value="365">In a year</option>
          </select>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={store} onChange={(e) => setStore(e.target.checked)} /> Keep questions asked
          with this key in my history
        </label>
        <button type="submit" className="button button-primary" disabled={busy || !name.trim()}>
          Create key
        </button>
      </form>
      {keys ? (
        keys.length ? (
          <ul className="session-list" data-testid="api-keys">
            {keys.map((k) => (
              <li key={k.id} className="session">
                <div>
                  <p className="session-agent">
                    <strong>{k.name}</strong> <code>{k.prefix}…</code> ({keyState(k)})
                  </p>
                  <p className="muted">
                    created {formatDate(k.created_at)} · last used {formatDate(k.last_used_at)} · expires{" "}
                    {k.expires_at ? formatDate(k.expires_at) : "never"} · history {k.store_conversations ? "kept" : "off"}
                  </p>
                </div>
                {k.active ? (
                  <button type="button" className="button button-small" onClick={() => void revoke(k)}>
                    Revoke
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No keys yet.</p>
        )
      ) : (
        !error && <p className="muted">Loading…</p>
      )}
    </section>
  );
}

function DataRights({ user }: { user: User }) {
  const [exportError, setExportError] = useState<unknown>(null);
  const [exported, setExported] = useState(false);
  const [password, setPassword] = useState("");
  const [sure, setSure] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function download() {
    setExportError(null);
    setExported(false);
    try {
      const data = await api.get("/api/v1/me/export");
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = "lumen-export.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExported(true);
    } catch (caught) {
      setExportError(caught);
    }
  }

  async function remove(event: FormEvent) {
    event.preventDefault();
    if (!sure) return;
    setBusy(true);
    setError(null);
    try {
      await api.delete("/api/v1/me", { body: { password } });
      window.location.replace("/login?deleted=1");
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  return (
    <>
      <section className="card" aria-labelledby="export-heading">
        <h2 id="export-heading">Your data</h2>
        <p>Download everything Lumen holds about your account as a JSON file.</p>
        {exportError ? <ErrorNotice error={exportError} action="Export" onRetry={() => void download()} /> : null}
        {exported ? (
          <p role="status" className="notice notice-ok">
            Your data was downloaded as lumen-export.json.
          </p>
        ) : null}
        <button type="button" className="button" onClick={() => void download()} data-testid="export">
          Export my data
        </button>
      </section>
      <section className="card danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete your account</h2>
        <p>
          This deletes {user.email}, your conversations, profiles and feedback for good. It cannot be undone.
        </p>
        <form onSubmit={remove} className="stack">
          <Field label="Password (to confirm)" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={apiError?.fieldMessage("password")} />
          <label className="checkbox">
            <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} required /> I understand that
            this cannot be undone
          </label>
          {error ? <ErrorNotice error={error} /> : null}
          <button type="submit" className="button button-danger" disabled={busy || !sure || !password}>
            Delete my account
          </button>
        </form>
      </section>
    </>
  );
}

export default function SettingsPage() {
  return (
    <AppShell title="Settings">
      {(user) => (
        <>
          <h1>Account settings</h1>
          <section className="card" aria-labelledby="account-heading">
            <h2 id="account-heading">Account</h2>
            <dl className="facts">
              <dt>E-mail</dt>
              <dd>{user.email}</dd>
              <dt>Role</dt>
              <dd>{user.role}</dd>
              <dt>Created</dt>
              <dd>{formatDate(user.created_at)}</dd>
              <dt>Last sign-in</dt>
              <dd>{formatDate(user.last_login_at)}</dd>
            </dl>
          </section>
          <TwoFactor user={user} />
          <Password />
          <Sessions />
          <ApiKeys />
          <DataRights user={user} />
        </>
      )}
    </AppShell>
  );
}

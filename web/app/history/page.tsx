"use client";
import Link from "next/link";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { api, type Conversation } from "@/lib/api/client";

const PAGE = 20;

function formatDate(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

function Row({ conversation, onChanged }: { conversation: Conversation; onChanged: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function rename(event: FormEvent) {
    event.preventDefault();
    if (!title.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await api.patch("/api/v1/conversations/{conversation_id}", {
        path: { conversation_id: conversation.id },
        body: { title: title.trim() },
      });
      setRenaming(false);
      onChanged();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api.delete("/api/v1/conversations/{conversation_id}", { path: { conversation_id: conversation.id } });
      onChanged();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <li className="history-item" data-testid="history-item">
      {renaming ? (
        <form onSubmit={rename} className="inline-form">
          <label htmlFor={`rename-${conversation.id}`}>New title</label>
          <input
            id={`rename-${conversation.id}`}
            value={title}
            maxLength={200}
            required
            autoFocus
            onChange={(e) => setTitle(e.target.value)}
          />
          <button type="submit" className="button button-small button-primary" disabled={busy}>
            Save
          </button>
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              setRenaming(false);
              setTitle(conversation.title);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <div className="history-main">
          <Link href={`/chat?c=${encodeURIComponent(conversation.id)}`} className="history-title">
            {conversation.title}
          </Link>
          <span className="muted history-date">Updated {formatDate(conversation.updated_at)}</span>
        </div>
      )}
      {!renaming ? (
        <div className="history-actions">
          <button
            type="button"
            className="button button-small"
            onClick={() => setRenaming(true)}
            aria-label={`Rename “${conversation.title}”`}
          >
            Rename
          </button>
          {confirming ? (
            <>
              <button type="button" className="button button-small button-danger" onClick={remove} disabled={busy}>
                Delete for good
              </button>
              <button type="button" className="button button-small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button
              type="button"
              className="button button-small"
              onClick={() => setConfirming(true)}
              aria-label={`Delete “${conversation.title}”`}
            >
              Delete
            </button>
          )}
        </div>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
    </li>
  );
}

function History() {
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const page = await api.get("/api/v1/conversations", { query: { limit: PAGE, offset, q: search || undefined } });
      setItems(page.items);
      setTotal(page.total);
    } catch (caught) {
      setError(caught);
    }
  }, [offset, search]);

  useEffect(() => {
    void load();
  }, [load]);

  function submit(event: FormEvent) {
    event.preventDefault();
    setOffset(0);
    setSearch(query.trim());
  }

  return (
    <>
      <h1>Conversation history</h1>
      <form role="search" onSubmit={submit} className="search-form">
        <label htmlFor="history-search">Search titles</label>
        <div className="row">
          <input id="history-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
          <button type="submit" className="button">
            Search
          </button>
          {search ? (
            <button
              type="button"
              className="button"
              onClick={() => {
                setQuery("");
                setSearch("");
                setOffset(0);
              }}
            >
              Clear
            </button>
          ) : null}
        </div>
      </form>
      {error ? <ErrorNotice error={error} action="Loading your conversations" onRetry={() => void load()} /> : null}
      {items === null && !error ? (
        <p role="status" className="muted">
          Loading…
        </p>
      ) : null}
      {items !== null ? (
        <>
          <p role="status" className="muted">
            {total === 0
              ? search
                ? `No conversation title contains “${search}”.`
                : "No conversations yet."
              : `${total} conversation${total === 1 ? "" : "s"}${search ? ` matching “${search}”` : ""}.`}
          </p>
          <ul className="history-list">
            {items.map((c) => (
              <Row key={`${c.id}-${c.title}`} conversation={c} onChanged={() => void load()} />
            ))}
          </ul>
          {total > PAGE ? (
            <nav aria-label="Pages" className="pager">
              <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                Newer
              </button>
              <span>
                {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
              </span>
              <button type="button" className="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
                Older
              </button>
            </nav>
          ) : null}
        </>
      ) : null}
      <p>
        <Link href="/chat" className="button button-primary">
          New conversation
        </Link>
      </p>
    </>
  );
}

export default function HistoryPage() {
  return <AppShell title="History">{() => <History />}</AppShell>;
}

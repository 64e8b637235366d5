"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { AnswerView } from "@/components/AnswerView";
import { ErrorNotice } from "@/components/ErrorNotice";
import { DEFAULT_DISCLAIMER, isUrgent, parseAnswer, type Answer } from "@/lib/api/answer";
import { ApiError, api, type CollectionName, type Message, type Profile, type User } from "@/lib/api/client";
import { askStreaming } from "@/lib/api/stream";

const DRAFT_KEY = "lumen.composer";
const COLLECTIONS: { name: CollectionName; label: string }[] = [
  { name: "knowledge", label: "Medical knowledge" },
  { name: "drugs", label: "Drug labels" },
  { name: "regulatory", label: "Regulatory documents" },
];

interface Item {
  key: string;
  id: string | null;
  question: string;
  status: Message["status"] | "streaming";
  answer: Answer | null;
  draft: string;
  error: unknown;
}

function itemFrom(message: Message): Item {
  return {
    key: message.id,
    id: message.id,
    question: message.question,
    status: message.status,
    answer: parseAnswer(message.answer),
    draft: "",
    error: message.status === "failed" ? new ApiError(503, "failed", message.error || "Lumen could not answer this question.") : null,
  };
}

function readDraft(): string {
  try {
    return window.sessionStorage.getItem(DRAFT_KEY) ?? "";
  } catch {
    return "";
  }
}

function writeDraft(text: string) {
  try {
    if (text) window.sessionStorage.setItem(DRAFT_KEY, text);
    else window.sessionStorage.removeItem(DRAFT_KEY);
  } catch {
    // private mode: the box still keeps the text while the page is open
  }
}

function Chat({ user }: { user: User }) {
  const params = useSearchParams();
  const router = useRouter();
  const conversationId = params.get("c");
  const [title, setTitle] = useState<string | null>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [text, setText] = useState("");
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<unknown>(null);
  const [collections, setCollections] = useState<CollectionName[]>(["knowledge"]);
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [useProfile, setUseProfile] = useState(false);
  const [profileId, setProfileId] = useState<string>("");
  const [announcement, setAnnouncement] = useState("");
  const skipLoad = useRef<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const endRef = useRef<HTMLDivElement>(null);
  const canChooseCollections = user.role === "pharma" || user.role === "admin";
  const choices =
    user.role === "pharma" && user.organisation
      ? [...COLLECTIONS, { name: user.organisation, label: `${user.organisation} documents (your organisation)` }]
      : COLLECTIONS;

  useEffect(() => {
    setText((current) => current || readDraft());
  }, []);

  const load = useCallback(async (id: string) => {
    setLoading(true);
    setLoadError(null);
    try {
      const detail = await api.get("/api/v1/conversations/{conversation_id}", { path: { conversation_id: id } });
      setTitle(detail.title);
      setItems(detail.messages.map(itemFrom));
    } catch (error) {
      setLoadError(error);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    if (!conversationId) {
      setTitle(null);
      setItems([]);
      setLoadError(null);
      return;
    }
    if (skipLoad.current === conversationId) {
      skipLoad.current = null;
      return;
    }
    void load(conversationId);
  }, [conversationId, load]);

  useEffect(() => {
    if (user.role !== "patient") return;
    api
      .get("/api/v1/profiles")
      .then((list) => {
        setProfiles(list);
        setProfileId((current) => current || list[0]?.id || "");
      })
      .catch(() => setProfiles([]));
  }, [user.role]);

  function updateItem(key: string, change: Partial<Item>) {
    setItems((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));
  }

  function changeText(value: string) {
    setText(value);
    writeDraft(value);
  }

  async function ask(question: string) {
    const content = question.trim();
    if (!content || sending) return;
    if (canChooseCollections && collections.length === 0) {
      setSendError(new ApiError(422, "validation_error", "Choose at least one collection to search."));
      return;
    }
    setSending(true);
    setSendError(null);
    let id = conversationId;
    const key = `pending-${Date.now()}`;
    try {
      if (!id) {
        const created = await api.post("/api/v1/conversations", { body: {} });
        id = created.id;
        skipLoad.current = id;
        setTitle(created.title);
        router.replace(`/chat?c=${encodeURIComponent(id)}`);
      }
      setItems((list) => [
        ...list,
        { key, id: null, question: content, status: "streaming", answer: null, draft: "", error: null },
      ]);
      setAnnouncement("Lumen is drafting an answer.");
      window.setTimeout(() => endRef.current?.scrollIntoView({ block: "end" }), 0);
      let accepted = false;
      const final = await askStreaming(
        id,
        {
          content,
          collections: canChooseCollections ? collections : null,
          use_profile: user.role === "patient" && useProfile && !!profileId,
          profile_id: user.role === "patient" && useProfile && profileId ? profileId : null,
        },
        {
          onAccepted: (messageId) => {
            accepted = true;
            updateItem(key, { id: messageId });
            setText((current) => (current.trim() === content ? "" : current));
            writeDraft("");
          },
          onToken: (piece) => setItems((list) => list.map((it) => (it.key === key ? { ...it, draft: it.draft + piece } : it))),
        },
      );
      const item = itemFrom(final);
      updateItem(key, { ...item, key });
      if (!accepted) {
        setText((current) => (current.trim() === content ? "" : current));
        writeDraft("");
      }
      if (final.status === "failed") {
        setText((current) => current || content);
        setSendError(item.error);
      }
      setAnnouncement(isUrgent(item.answer) ? "Urgent: read the safety message." : "The verified answer is ready.");
      setTitle((current) => (current === "New conversation" || !current ? content.slice(0, 80) : current));
      window.setTimeout(() => endRef.current?.scrollIntoView({ block: "end" }), 0);
    } catch (error) {
      // Nothing typed is lost: the question goes back into the box.
      setItems((list) =>
        list.flatMap((item) => {
          if (item.key !== key) return [item];
          return item.id ? [{ ...item, status: "failed" as const, error }] : [];
        }),
      );
      setText((current) => current || content);
      writeDraft(content);
      setSendError(error);
      setAnnouncement("The question was not answered.");
    } finally {
      setSending(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void ask(text);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void ask(text);
    }
  }

  function toggleCollection(name: CollectionName, on: boolean) {
    setCollections((list) => (on ? [...list.filter((n) => n !== name), name] : list.filter((n) => n !== name)));
  }

  const lastAnswer = [...items].reverse().find((i) => i.answer)?.answer ?? null;

  return (
    <div className="chat">
      <div className="chat-head">
        <h1 className="chat-title">{title ?? "Ask Lumen"}</h1>
        <div className="chat-actions">
          <Link className="button button-small" href="/chat" onClick={() => setItems([])}>
            New conversation
          </Link>
          <Link className="button button-small" href="/history">
            History
          </Link>
        </div>
      </div>
      {loadError ? (
        <ErrorNotice
          error={loadError}
          action="Opening the conversation"
          onRetry={conversationId ? () => void load(conversationId) : undefined}
        />
      ) : null}
      {loading ? (
        <p role="status" className="muted">
          Loading the conversation…
        </p>
      ) : null}
      {!loading && !items.length && !loadError ? (
        <div className="empty">
          <p>Ask a health question. Lumen answers only from its sources and shows which source supports each sentence.</p>
          <p className="muted">If you are in danger or it is an emergency, call 911 (or your local emergency number) now.</p>
        </div>
      ) : null}
      <ol className="thread" aria-label="Questions and answers">
        {items.map((item) => (
          <li key={item.key} className="turn" data-testid="turn" data-status={item.status}>
            {isUrgent(item.answer) && item.answer && item.id ? (
              <AnswerView answer={item.answer} messageId={item.id} />
            ) : null}
            <div className="question">
              <p className="visually-hidden">You asked:</p>
              <p className="question-text">{item.question}</p>
            </div>
            {item.status === "streaming" ? (
              <div className="draft" aria-busy="true" data-testid="draft">
                <p className="badge badge-draft">
                  <span className="spinner" aria-hidden="true" /> Drafting… not yet checked against the sources
                </p>
                {item.draft ? <p className="draft-text">{item.draft}</p> : <p className="muted">Searching the sources…</p>}
              </div>
            ) : null}
            {item.answer && item.id && !isUrgent(item.answer) ? <AnswerView answer={item.answer} messageId={item.id} /> : null}
            {item.status === "failed" ? (
              <div className="failed">
                <ErrorNotice error={item.error} action="Answering" onRetry={() => void ask(item.question)} />
              </div>
            ) : null}
            {item.status === "pending" && !item.answer ? (
              <div className="notice">
                <p>This question has no answer yet.</p>
                <button type="button" className="button button-small" onClick={() => changeText(item.question)}>
                  Put it back in the box
                </button>
              </div>
            ) : null}
          </li>
        ))}
      </ol>
      <div ref={endRef} />
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      <div className="composer-wrap">
        <p className="disclaimer" data-testid="disclaimer">
          {lastAnswer?.disclaimer || DEFAULT_DISCLAIMER} In an emergency call 911.
        </p>
        {sendError ? (
          <ErrorNotice error={sendError} action="Sending your question" onRetry={() => void ask(text)} />
        ) : null}
        <form className="composer" onSubmit={submit} aria-label="Ask a question">
          {canChooseCollections ? (
            <fieldset className="collections">
              <legend>Search in</legend>
              {choices.map((c) => (
                <label key={c.name} className="checkbox">
                  <input
                    type="checkbox"
                    name="collections"
                    value={c.name}
                    checked={collections.includes(c.name)}
                    onChange={(e) => toggleCollection(c.name, e.target.checked)}
                  />{" "}
                  {c.label}
                </label>
              ))}
            </fieldset>
          ) : null}
          {user.role === "patient" && profiles.length ? (
            <div className="profile-choice">
              <label className="checkbox">
                <input type="checkbox" checked={useProfile} onChange={(e) => setUseProfile(e.target.checked)} /> Take my
                profile into account
              </label>
              {profiles.length > 1 && useProfile ? (
                <label>
                  <span className="visually-hidden">Profile</span>
                  <select value={profileId} onChange={(e) => setProfileId(e.target.value)}>
                    {profiles.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.label}
                      </option>
                    ))}
                  </select>
                </label>
              ) : null}
            </div>
          ) : null}
          <div className="composer-row">
            <label htmlFor="question" className="visually-hidden">
              Your question
            </label>
            <textarea
              id="question"
              ref={inputRef}
              name="question"
              rows={2}
              maxLength={4000}
              placeholder="Ask a health question…"
              value={text}
              onChange={(e) => changeText(e.target.value)}
              onKeyDown={onKeyDown}
              aria-describedby="question-hint"
            />
            <button type="submit" className="button button-primary" disabled={sending || !text.trim()}>
              {sending ? "Answering…" : "Ask"}
            </button>
          </div>
          <p id="question-hint" className="hint">
            Enter sends; Shift+Enter starts a new line.
          </p>
        </form>
      </div>
    </div>
  );
}

export default function ChatPage() {
  return (
    <AppShell title="Ask" wide>
      {(user) => (
        <Suspense fallback={<p role="status">Loading…</p>}>
          <Chat user={user} />
        </Suspense>
      )}
    </AppShell>
  );
}

// Asking a question with `stream: true`: the server answers with server-sent events
// `message` {id}, `token` {text} (the model's unverified draft), then `final` (the stored
// message with its verified answer) or `error` {status, message, message_id}.
import { ApiError, NETWORK_MESSAGE, csrfHeaders, errorFrom, onSessionEnded, type CollectionName, type Message } from "./client";

export interface AskBody {
  content: string;
  collections?: CollectionName[] | null;
  use_profile?: boolean;
  profile_id?: string | null;
}

export interface StreamHandlers {
  onAccepted?: (messageId: string) => void;
  onToken?: (text: string) => void;
}

interface ServerEvent {
  event: string;
  data: string;
}

/** Split a buffer into complete events; returns them and what is left over. */
export function parseEvents(buffer: string): { events: ServerEvent[]; rest: string } {
  const events: ServerEvent[] = [];
  const normalised = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalised.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

function json(data: string): Record<string, unknown> {
  try {
    const value = JSON.parse(data) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Ask, streaming; resolves to the final message, rejects with an ApiError. */
export async function askStreaming(
  conversationId: string,
  body: AskBody,
  handlers: StreamHandlers = {},
  signal?: AbortSignal,
): Promise<Message> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/conversations/${encodeURIComponent(conversationId)}/messages`, {
      method: "POST",
      headers: {
        Accept: "text/event-stream",
        "Content-Type": "application/json",
        ...csrfHeaders("POST"),
      },
      body: JSON.stringify({ ...body, stream: true }),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (error.status === 401) onSessionEnded();
    throw error;
  }
  if (!response.body) throw new ApiError(0, "network", NETWORK_MESSAGE);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value ?? new Uint8Array(), { stream: !done });
      const { events, rest } = parseEvents(done ? `${buffer}\n\n` : buffer);
      buffer = rest;
      for (const { event, data } of events) {
        const payload = json(data);
        if (event === "message" && typeof payload.id === "string") handlers.onAccepted?.(payload.id);
        else if (event === "token" && typeof payload.text === "string") handlers.onToken?.(payload.text);
        else if (event === "final") return payload as unknown as Message;
        else if (event === "error") {
          const status = typeof payload.status === "number" ? payload.status : 500;
          const message =
            typeof payload.message === "string" && payload.message
              ? payload.message
              : "Lumen could not answer this time. Try again.";
          if (status === 401) onSessionEnded();
          throw new ApiError(status, "stream_error", message);
        }
      }
      if (done) break;
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "The connection broke before the answer was complete. Try again.");
  }
  throw new ApiError(0, "network", "The connection closed before the answer was complete. Try again.");
}

// A small typed client for Lumen's API. Types come from lib/api/schema.d.ts, which
// `npm run api:generate` writes from the server's OpenAPI document.
//
// Sessions live only in the httpOnly cookie the server sets; this module never sees a
// token. Every state-changing request echoes the readable `lumen_csrf` cookie in the
// X-CSRF-Token header (the server's double-submit check).
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type User = Schemas["UserPublic"];
export type Conversation = Schemas["ConversationPublic"];
export type ConversationDetail = Schemas["ConversationDetail"];
export type Message = Schemas["MessagePublic"];
export type Profile = Schemas["ProfilePublic"];
export type Role = User["role"];
export type CollectionName = NonNullable<Schemas["MessageCreate"]["collections"]>[number];

type Method = "get" | "post" | "patch" | "delete";
type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: unknown } ? P : never;
}[keyof paths];
type Op<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;
type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : void;
type Ok<O> = O extends { responses: infer R }
  ? R extends { 200: infer X }
    ? JsonOf<X>
    : R extends { 201: infer X }
      ? JsonOf<X>
      : void
  : never;

export type RequestOptions<O> = {
  path?: PathParams<O>;
  query?: QueryParams<O>;
  body?: JsonBody<O>;
  signal?: AbortSignal;
  /** Don't send the user to the sign-in page on a 401 (sign-in forms handle it). */
  noAuthRedirect?: boolean;
};

/** The body of every error response, `{"error": ErrorBody}` (not yet in the OpenAPI document). */
export interface ErrorBody {
  status: number;
  code: string;
  message: string;
  fields: { field: string; message: string }[];
}

export type ErrorKind = "network" | "auth" | "rate" | "http";

/** Every failure, with the server's message written for users when there is one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: { field: string; message: string }[];
  readonly retryAfter: number | null;
  readonly kind: ErrorKind;

  constructor(
    status: number,
    code: string,
    message: string,
    fields: { field: string; message: string }[] = [],
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
    this.kind = status === 0 ? "network" : status === 401 ? "auth" : status === 429 ? "rate" : "http";
  }

  /** The message for one form field, if the server named it. */
  fieldMessage(name: string): string | undefined {
    return this.fields.find((f) => f.field === name || f.field.endsWith(`.${name}`))?.message;
  }
}

export const NETWORK_MESSAGE =
  "Lumen can't be reached. Check your connection, then try again.";

/** The value of a cookie readable by scripts (only the CSRF cookie is). */
export function readCookie(name: string): string {
  if (typeof document === "undefined") return "";
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

export function csrfHeaders(method: string): Record<string, string> {
  if (method.toUpperCase() === "GET" || method.toUpperCase() === "HEAD") return {};
  const token = readCookie("lumen_csrf");
  return token ? { "X-CSRF-Token": token } : {};
}

/** Where to send someone whose session ended; `next` brings them back afterwards. */
export function signInUrl(reason: "expired" | "signin" = "expired"): string {
  const here = typeof window === "undefined" ? "/" : window.location.pathname + window.location.search;
  const params = new URLSearchParams();
  if (here && !here.startsWith("/login") && !here.startsWith("/signup")) params.set("next", here);
  if (reason === "expired") params.set("expired", "1");
  const query = params.toString();
  return `/login${query ? `?${query}` : ""}`;
}

let redirecting = false;

/** A 401 from a signed-in page: the session ended; go to the sign-in page (once). */
export function onSessionEnded(): void {
  if (typeof window === "undefined" || redirecting) return;
  redirecting = true;
  window.location.assign(signInUrl("expired"));
}

/** A `next` parameter that stays on this site (no `//host` or `scheme:` tricks). */
export function safeNext(next: string | null | undefined, fallback = "/chat"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  return next;
}

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get("Retry-After");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Turn a non-2xx response into an ApiError (the body is `{"error": {...}}`). */
export async function errorFrom(response: Response): Promise<ApiError> {
  let status = response.status;
  let code = "error";
  let message = `The request failed (HTTP ${response.status}).`;
  let fields: { field: string; message: string }[] = [];
  try {
    const body = (await response.json()) as { error?: Partial<ErrorBody> };
    if (body && body.error) {
      status = typeof body.error.status === "number" ? body.error.status : status;
      code = typeof body.error.code === "string" ? body.error.code : code;
      message = typeof body.error.message === "string" && body.error.message ? body.error.message : message;
      fields = Array.isArray(body.error.fields) ? body.error.fields : [];
    }
  } catch {
    // not JSON (a proxy's page): keep the generic message
  }
  return new ApiError(status, code, message, fields, retryAfterSeconds(response));
}

function buildUrl(template: string, path?: Record<string, unknown>, query?: Record<string, unknown>): string {
  let url = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = path?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

/** Send a request; resolves to the typed 2xx body, rejects with an ApiError. */
export async function request<M extends Method, P extends PathsWith<M>>(
  method: M,
  path: P,
  options: RequestOptions<Op<P, M>> = {},
): Promise<Ok<Op<P, M>>> {
  const url = buildUrl(
    path as string,
    options.path as Record<string, unknown> | undefined,
    options.query as Record<string, unknown> | undefined,
  );
  const headers: Record<string, string> = { Accept: "application/json", ...csrfHeaders(method) };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: method.toUpperCase(),
      headers,
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (error.status === 401 && !options.noAuthRedirect) onSessionEnded();
    throw error;
  }
  if (response.status === 204) return undefined as Ok<Op<P, M>>;
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return undefined as Ok<Op<P, M>>;
  return (await response.json()) as Ok<Op<P, M>>;
}

export const api = {
  get: <P extends PathsWith<"get">>(path: P, options?: RequestOptions<Op<P, "get">>) =>
    request("get", path, options),
  post: <P extends PathsWith<"post">>(path: P, options?: RequestOptions<Op<P, "post">>) =>
    request("post", path, options),
  patch: <P extends PathsWith<"patch">>(path: P, options?: RequestOptions<Op<P, "patch">>) =>
    request("patch", path, options),
  delete: <P extends PathsWith<"delete">>(path: P, options?: RequestOptions<Op<P, "delete">>) =>
    request("delete", path, options),
};

export type UploadItem = Schemas["UploadPublic"];
export type Job = Schemas["JobPublic"];

/** Upload files into a collection (multipart); each is indexed by its own job. */
export async function uploadFiles(collection: string, files: File[]): Promise<UploadItem[]> {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  let response: Response;
  try {
    response = await fetch(`/api/v1/collections/${encodeURIComponent(collection)}/uploads`, {
      method: "POST",
      headers: { Accept: "application/json", ...csrfHeaders("POST") },
      body: form,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (error.status === 401) onSessionEnded();
    throw error;
  }
  return ((await response.json()) as Schemas["UploadReceipt"]).items;
}

/** A readable message for anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

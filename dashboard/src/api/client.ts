import { resolveApiBaseUrl } from "../config";
import type {
  ApiKey,
  ApiKeyCreated,
  ApiKeyList,
  DeliveryPage,
  Webhook,
  WebhookCreated,
  WebhookInput,
  WebhookList,
} from "./integrationTypes";
import { API_OPERATIONS, fillPath, type OperationName } from "./operations";
import type {
  BatchAnalytics,
  AuthConfig,
  Batch,
  BatchPage,
  EmailPage,
  ErrorBody,
  ErrorDetail,
  ImportCreated,
  ImportStatus,
  InboxPage,
  InboxQuery,
  InboxThread,
  LeadStatus,
  ListQuery,
  LoginResponse,
  MeResponse,
  OAuthProvider,
  OAuthStartInput,
  ScheduledEmail,
  ScheduleImportResponse,
  ScheduleRequest,
  ScheduleResponse,
  SenderAccount,
  SenderDns,
  SenderInput,
  SenderList,
  SentEmail,
  Stats,
  SuppressionPage,
  ThreadDetail,
  ThreadMessage,
  User,
} from "./types";

/** An error answer from the API, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  /** Seconds to wait, from a 429's Retry-After. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: ErrorDetail[] = [], retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return "Can't reach the server. Check your connection.";
    if (err.status === 429) {
      return err.retryAfter ? `Too many requests. Try again in ${err.retryAfter} s.` : "Too many requests. Try again shortly.";
    }
    return err.message || `Request failed (${err.status})`;
  }
  if (err instanceof Error) return err.message;
  return "Something went wrong";
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function isErrorBody(x: unknown): x is ErrorBody {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as ErrorBody).error === "object" &&
    (x as ErrorBody).error !== null
  );
}

interface RequestOptions {
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined | null>;
  body?: unknown;
  signal?: AbortSignal;
  /** Skip the Authorization header (sign-in routes). */
  anonymous?: boolean;
}

export interface ApiClientOptions {
  baseUrl?: string;
  getToken?: () => string | null;
  /** Called on any 401 from an authenticated call: the session is over. */
  onUnauthorized?: () => void;
  fetchImpl?: typeof fetch;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly getToken: () => string | null;
  private readonly onUnauthorized: () => void;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ApiClientOptions = {}) {
    this.baseUrl = opts.baseUrl ?? resolveApiBaseUrl();
    this.getToken = opts.getToken ?? (() => null);
    this.onUnauthorized = opts.onUnauthorized ?? (() => {});
    this.fetchImpl = opts.fetchImpl ?? ((...args) => fetch(...args));
  }

  url(op: OperationName, opts: Pick<RequestOptions, "params" | "query"> = {}): string {
    let url = this.baseUrl + fillPath(API_OPERATIONS[op].path, opts.params);
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += `?${s}`;
    return url;
  }

  private async request<T>(op: OperationName, opts: RequestOptions = {}): Promise<T> {
    const { method } = API_OPERATIONS[op];
    const headers: Record<string, string> = { Accept: "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const token = opts.anonymous ? null : this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;

    let res: Response;
    try {
      res = await this.fetchImpl(this.url(op, opts), {
        method: method.toUpperCase(),
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, "network", "Can't reach the server. Check your connection.");
    }

    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }

    if (!res.ok) {
      if (res.status === 401 && !opts.anonymous) this.onUnauthorized();
      const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
      if (isErrorBody(data)) {
        const { code, message, details } = data.error;
        throw new ApiError(res.status, code || String(res.status), message || res.statusText, details ?? [], retryAfter);
      }
      throw new ApiError(res.status, String(res.status), res.statusText || `Request failed (${res.status})`, [], retryAfter);
    }
    return data as T;
  }

  // ---- auth (no token) ----
  authConfig(signal?: AbortSignal): Promise<AuthConfig> {
    return this.request("authConfig", { anonymous: true, signal });
  }
  devLogin(email: string, name?: string): Promise<LoginResponse> {
    return this.request("devLogin", { anonymous: true, body: name ? { email, name } : { email } });
  }
  googleLogin(credential: string): Promise<LoginResponse> {
    return this.request("googleLogin", { anonymous: true, body: { credential } });
  }
  me(signal?: AbortSignal): Promise<MeResponse> {
    return this.request("me", { signal });
  }

  // ---- emails ----
  schedule(body: ScheduleRequest): Promise<ScheduleResponse> {
    return this.request("schedule", { body });
  }
  listScheduled(q: ListQuery = {}, signal?: AbortSignal): Promise<EmailPage<ScheduledEmail>> {
    return this.request("listScheduled", { query: { ...q }, signal });
  }
  listSent(q: ListQuery = {}, signal?: AbortSignal): Promise<EmailPage<SentEmail>> {
    return this.request("listSent", { query: { ...q }, signal });
  }
  stats(signal?: AbortSignal): Promise<Stats> {
    return this.request("stats", { signal });
  }

  // ---- batches ----
  listBatches(q: Omit<ListQuery, "batchId"> = {}, signal?: AbortSignal): Promise<BatchPage> {
    return this.request("listBatches", { query: { ...q }, signal });
  }
  getBatch(id: string, signal?: AbortSignal): Promise<Batch> {
    return this.request("getBatch", { params: { id }, signal });
  }
  batchAnalytics(id: string, signal?: AbortSignal): Promise<BatchAnalytics> {
    return this.request("batchAnalytics", { params: { id }, signal });
  }
  pauseBatch(id: string): Promise<Batch> {
    return this.request("pauseBatch", { params: { id } });
  }
  resumeBatch(id: string): Promise<Batch> {
    return this.request("resumeBatch", { params: { id } });
  }
  cancelBatch(id: string): Promise<Batch> {
    return this.request("cancelBatch", { params: { id } });
  }

  // ---- profile ----
  updateMe(patch: { postalAddress?: string | null; name?: string }): Promise<MeResponse | { user?: User }> {
    return this.request("updateMe", { body: patch });
  }

  // ---- API keys and webhooks (SPEC.md, issue 28) ----
  listApiKeys(signal?: AbortSignal): Promise<ApiKeyList> {
    return this.request("listApiKeys", { signal });
  }
  createApiKey(body: { name: string; scopes: string[] }): Promise<ApiKeyCreated> {
    return this.request("createApiKey", { body });
  }
  deleteApiKey(id: ApiKey["id"]): Promise<void> {
    return this.request("deleteApiKey", { params: { id } });
  }
  listWebhooks(signal?: AbortSignal): Promise<WebhookList> {
    return this.request("listWebhooks", { signal });
  }
  createWebhook(body: WebhookInput): Promise<WebhookCreated> {
    return this.request("createWebhook", { body });
  }
  updateWebhook(id: string, patch: Partial<WebhookInput> & { status?: Webhook["status"] }): Promise<Webhook> {
    return this.request("updateWebhook", { params: { id }, body: patch });
  }
  deleteWebhook(id: string): Promise<void> {
    return this.request("deleteWebhook", { params: { id } });
  }
  webhookSecret(id: string): Promise<{ secret: string }> {
    return this.request("webhookSecret", { params: { id } });
  }
  testWebhook(id: string): Promise<{ eventId: string }> {
    return this.request("testWebhook", { params: { id } });
  }
  webhookDeliveries(id: string, q: { page?: number; limit?: number } = {}, signal?: AbortSignal): Promise<DeliveryPage> {
    return this.request("webhookDeliveries", { params: { id }, query: { ...q }, signal });
  }
  replayWebhookEvent(id: string, eventId: string): Promise<{ eventId: string }> {
    return this.request("replayWebhookEvent", { params: { id, eventId } });
  }

  // ---- senders (SPEC.md "Senders") ----
  listSenders(signal?: AbortSignal): Promise<SenderList> {
    return this.request("listSenders", { signal });
  }
  /** Verifies an smtp block first: a failed check is an ApiError 422 `sender_unverified`. */
  createSender(body: SenderInput): Promise<SenderAccount> {
    return this.request("createSender", { body });
  }
  getSender(id: string, signal?: AbortSignal): Promise<SenderAccount> {
    return this.request("getSender", { params: { id }, signal });
  }
  updateSender(id: string, patch: SenderInput): Promise<SenderAccount> {
    return this.request("updateSender", { params: { id }, body: patch });
  }
  verifySender(id: string): Promise<SenderAccount> {
    return this.request("verifySender", { params: { id } });
  }
  /** The provider's consent page; 404 `provider_not_configured` when it is not set up. */
  startOAuth(provider: OAuthProvider, body: OAuthStartInput = {}): Promise<{ authorizationUrl: string }> {
    return this.request("startOAuth", { params: { provider }, body });
  }
  /** The sender domain's SPF, DKIM, DMARC and MX judged (issue 29); 503 when DNS did not answer. */
  senderDns(id: string, signal?: AbortSignal): Promise<SenderDns> {
    return this.request("senderDns", { params: { id }, signal });
  }
  /** 409 while any of its emails is unsent. */
  deleteSender(id: string): Promise<void> {
    return this.request("deleteSender", { params: { id } });
  }

  // ---- suppressions ----
  listSuppressions(q: { page?: number; limit?: number } = {}, signal?: AbortSignal): Promise<SuppressionPage> {
    return this.request("listSuppressions", { query: { ...q }, signal });
  }
  addSuppressions(emails: string[]): Promise<unknown> {
    return this.request("addSuppressions", { body: { emails } });
  }
  deleteSuppression(email: string): Promise<void> {
    return this.request("deleteSuppression", { params: { email } });
  }

  // ---- big lists (SPEC.md "Big lists") ----
  createImport(size: number): Promise<ImportCreated> {
    return this.request("createImport", { body: { size } });
  }
  getImport(importId: string, signal?: AbortSignal): Promise<ImportStatus> {
    return this.request("getImport", { params: { importId }, signal });
  }
  // ---- inbox (SPEC.md "Inbox") ----
  listInbox(q: InboxQuery = {}, signal?: AbortSignal): Promise<InboxPage> {
    const { unread, ...rest } = q;
    return this.request("listInbox", { query: { ...rest, unread: unread ? "true" : undefined }, signal });
  }
  /** Marks the thread read. */
  getThread(id: string, signal?: AbortSignal): Promise<ThreadDetail> {
    return this.request("getThread", { params: { id }, signal });
  }
  updateThread(id: string, patch: { leadStatus?: LeadStatus; unread?: boolean }): Promise<InboxThread> {
    return this.request("updateThread", { params: { id }, body: patch });
  }
  /** 409 when the lead is suppressed. */
  replyToThread(id: string, body: string): Promise<ThreadMessage> {
    return this.request("replyToThread", { params: { id }, body: { body } });
  }

  /** POST /emails/schedule with recipientsImportId: the import job does the rest (202). */
  scheduleImport(body: ScheduleRequest): Promise<ScheduleImportResponse> {
    return this.request("schedule", { body });
  }
}

/** The code of POST /senders' failed account check (SPEC.md). */
export const SENDER_UNVERIFIED = "sender_unverified";

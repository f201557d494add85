/** Types of the emailsched HTTP API (see SPEC.md and /openapi.json). Times are ISO 8601 strings. */

export type AuthMode = "dev" | "google";

export interface AuthConfig {
  authMode: AuthMode;
  googleClientId: string | null;
  /** Optional hints for the finish estimate, when the server shares them. */
  minDelayBetweenEmailsMs?: number;
  rateWindowSeconds?: number;
  defaultHourlyLimit?: number;
  /** `emailsched dev`: the capture inbox, offered as a one-click test sender. */
  testSmtp?: { host: string; port: number } | null;
  /** Providers mailboxes can be connected with by OAuth here (issue 25). */
  oauthProviders?: OAuthProvider[];
}

export type OAuthProvider = "google" | "microsoft";

/** How a google or microsoft sender is connected: never a token. */
export interface OAuthConnection {
  provider: OAuthProvider;
  scopes: string[];
  connectedAt: string;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  avatar: string | null;
  /** Printed in the unsubscribe footer (SPEC.md: PATCH /auth/me {postalAddress}). */
  postalAddress?: string | null;
}

export interface LoginResponse {
  token: string;
  user: User;
}

export interface MeResponse {
  user: User;
}

export interface Sender {
  email: string;
  name: string;
}

/** A recipient with merge fields (SPEC.md "Recipients with fields, templates"). */
export interface RecipientWithFields {
  email: string;
  fields: Record<string, string>;
}

export type Recipient = string | RecipientWithFields;

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/** SPEC.md "Sending windows and jitter". */
export interface SendingWindow {
  timezone: string;
  days: Weekday[];
  /** "HH:MM" local to `timezone`. */
  start: string;
  end: string;
}

/** A follow-up after the first email (SPEC.md "Sequences"). */
export interface SequenceStep {
  subject?: string;
  body: string;
  waitSeconds: number;
}

export interface ScheduleRequest {
  subject: string;
  body: string;
  /** Empty (or left out) with `recipientsImportId`. */
  recipients?: Recipient[];
  /** Big lists: an import whose CSV was PUT to its uploadUrl; answers 202 {batchId, status}. */
  recipientsImportId?: string;
  /** With recipientsImportId: skip invalid rows and report them by line. */
  skipInvalid?: boolean;
  startTime: string;
  delayMs: number;
  hourlyLimit: number;
  /** The old path: a From address (a relay sender is made on first use where allowed). */
  sender?: Sender;
  /** One or more of the user's senders; several rotate. */
  senderIds?: string[];
  sendingWindow?: SendingWindow;
  randomDelayMs?: number;
  steps?: SequenceStep[];
  /** Open pixel and click redirects (SPEC.md "Engagement"); both off by default. */
  tracking?: Tracking;
}

export interface Tracking {
  opens: boolean;
  clicks: boolean;
}

/** Emails sent and what became of them; rates are fractions of `sent`. */
export interface Funnel {
  sent: number;
  bounced: number;
  opened: number;
  clicked: number;
  replied: number;
  unsubscribed: number;
  openRate: number;
  clickRate: number;
  replyRate: number;
  bounceRate: number;
  /** Hits no person made (prefetches, scanners, HEAD requests, bursts), apart. */
  machine: { opens: number; clicks: number };
}

export interface BatchAnalytics extends Funnel {
  byStep: (Funnel & { step: number })[];
  byVariant: (Funnel & { variant: string })[];
  bySender: (Funnel & { senderId: string })[];
}

export interface Analytics extends BatchAnalytics {
  perDay: (Funnel & { day: string })[];
}

export interface ScheduleSenderShare {
  id: string;
  email: string;
  emailCount: number;
  estimatedEndTime: string;
}

export interface ScheduleResponse {
  success: boolean;
  batchId: string;
  emailCount: number;
  duplicatesRemoved: number;
  startTime: string;
  estimatedEndTime: string;
  suppressedRemoved?: number;
  /** Recipients refused by the checks (issue 29): no mail server, disposable domain. */
  invalidRemoved?: { no_mx: number; disposable: number };
  senders?: ScheduleSenderShare[];
}

export type EmailStatus =
  | "scheduled"
  | "queued"
  | "sending"
  | "sent"
  | "failed"
  | "paused"
  | "cancelled"
  | "held"
  | "suppressed"
  | "replied";

export const EMAIL_STATUSES: readonly EmailStatus[] = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "failed",
  "paused",
  "cancelled",
  "held",
  "suppressed",
  "replied",
];

// ---- Senders (SPEC.md "Senders") ----

export type SmtpSecurity = "none" | "starttls" | "tls";

export interface MailServer {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
}

/** What POST/PATCH /senders take: the server block plus its password. */
export interface MailServerInput extends MailServer {
  password: string;
}

export type SenderKind = "smtp" | "relay" | "google" | "microsoft";
export type SenderStatus = "active" | "failing";

/** A sender account (mailbox) of the user. Not `Sender`, the {email, name} of an email. */
export interface SenderAccount {
  id: string;
  email: string;
  name: string;
  kind: SenderKind;
  smtp: MailServer | null;
  imap: MailServer | null;
  hourlyLimit: number | null;
  dailyLimit: number | null;
  minDelayMs: number | null;
  timezone: string | null;
  status: SenderStatus;
  lastError: string | null;
  sentToday: number;
  createdAt: string;
  oauth?: OAuthConnection | null;
  /** The DKIM selector its domain's key is under (issue 29), tried first by GET /senders/{id}/dns. */
  dkimSelector?: string | null;
}

/** POST /senders/oauth/{provider}/start: the sender's settings once connected. */
export interface OAuthStartInput {
  name?: string;
  hourlyLimit?: number;
  dailyLimit?: number;
  minDelayMs?: number;
  timezone?: string;
}

/** GET /senders/{id}/dns (SPEC.md "Sender domains and recipient checks"). */
export type DnsVerdict = "ok" | "warn" | "fail";

export interface SenderDns {
  domain: string;
  checkedAt: string;
  verdict: DnsVerdict;
  spf: { record: string | null; ok: boolean; detail: string };
  dkim: { selectors: string[]; ok: boolean };
  dmarc: { record: string | null; policy: string | null; ok: boolean; alignment?: { dkim: string; spf: string } };
  mx: { hosts: string[]; ok: boolean };
  advice: string[];
}

export interface SenderInput {
  email?: string;
  name?: string;
  smtp?: MailServerInput;
  imap?: MailServerInput;
  hourlyLimit?: number | null;
  dailyLimit?: number | null;
  minDelayMs?: number | null;
  timezone?: string | null;
  dkimSelector?: string | null;
}

export interface SenderList {
  senders: SenderAccount[];
}

// ---- Suppressions (SPEC.md "Unsubscribe and suppression") ----

export type SuppressionReason = "unsubscribed" | "hard_bounce" | "complaint" | "manual";

export interface Suppression {
  email: string;
  reason: SuppressionReason;
  createdAt: string;
}

export interface SuppressionPage {
  suppressions: Suppression[];
  pagination: Pagination;
}

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  pages: number;
}

export interface ScheduledEmail {
  id: string;
  batchId: string;
  recipientEmail: string;
  subject: string;
  scheduledTime: string;
  status: EmailStatus;
  sender: Sender;
  /** 1 for the first email, 2.. for follow-ups (SPEC.md "Sequences"). */
  step?: number;
}

export interface SentEmail extends ScheduledEmail {
  sentTime: string | null;
  attempts: number;
  failureReason: string | null;
}

export interface EmailPage<E> {
  emails: E[];
  pagination: Pagination;
}

export interface HourBucket {
  hour: string;
  sent: number;
  failed: number;
}

export interface Stats {
  total: number;
  scheduled: number;
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  cancelled: number;
  paused?: number;
  /** Newer counts, when the server has them (issues 13, 14, 16). */
  held?: number;
  suppressed?: number;
  replied?: number;
  sentLastHour: number;
  perHour: HourBucket[];
}

export type BatchStatus = "active" | "paused" | "cancelled" | "completed";

export interface BatchCounts {
  total: number;
  scheduled: number;
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  paused: number;
  cancelled: number;
  /** Newer counts (SPEC.md issues 13, 14, 16); absent from older servers. */
  held?: number;
  suppressed?: number;
  replied?: number;
  /** Hard bounces, where the server counts them apart from other failures. */
  bounced?: number;
  /** Spam complaints (ARF, JMRP feedback reports): those recipients are suppressed. */
  complained?: number;
  unsubscribed?: number;
}

/** Per-step progress, when the server sends it (optional; else derived from the emails). */
export interface BatchStepCounts {
  step: number;
  subject?: string | null;
  waitSeconds?: number;
  sent: number;
  pending: number;
  stopped: number;
}

export interface Batch {
  id: string;
  subject: string;
  sender: Sender;
  startTime: string;
  delayMs: number;
  hourlyLimit: number;
  status: BatchStatus;
  counts: BatchCounts;
  createdAt: string;
  estimatedEndTime?: string | null;
  /** Why a paused batch paused: "bounce_rate" when it paused itself. */
  pausedReason?: string | null;
  sendingWindow?: SendingWindow | null;
  randomDelayMs?: number | null;
  senderIds?: string[];
  steps?: BatchStepCounts[] | null;
  /** Every sender the batch goes through, in rotation order. */
  senders?: Sender[];
}

export interface BatchPage {
  batches: Batch[];
  pagination: Pagination;
}

export interface ErrorDetail {
  field?: string;
  message: string;
  value?: unknown;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: ErrorDetail[];
  };
}

export interface ListQuery {
  page?: number;
  limit?: number;
  batchId?: string;
}

/** Emails of a batch that are not finished yet. */
export function pendingCount(c: BatchCounts): number {
  return c.scheduled + c.queued + c.sending + c.paused + (c.held ?? 0);
}

// ---- SPEC.md "Big lists" (issue 17) ----
/** POST /imports: PUT the CSV to `uploadUrl` with Content-Type text/csv. */
export interface ImportCreated {
  importId: string;
  uploadUrl: string;
  /** Headers the PUT must carry (signed into uploadUrl). */
  uploadHeaders: Record<string, string>;
}

export type ImportState = "uploading" | "importing" | "done" | "failed";

export interface ImportError {
  /** The file's line (1 is the header); 0 for the whole file. */
  line: number;
  message: string;
}

/** GET /imports/{importId}: rows = valid + invalid + duplicates + suppressed. */
export interface ImportStatus {
  importId: string;
  status: ImportState;
  rows: number;
  valid: number;
  invalid: number;
  duplicates: number;
  suppressed: number;
  batchId?: string | null;
  errors: ImportError[];
}

/** An import's rows left out by skipInvalid: how many, and the first of them by line. */
export interface SkippedRows {
  count: number;
  errors: ImportError[];
}

/** POST /emails/schedule with recipientsImportId (202). */
export interface ScheduleImportResponse {
  batchId: string;
  status: ImportState;
}

/** SPEC.md "Inbox: replies, threads, lead status". */
export const LEAD_STATUSES = [
  "new",
  "replied",
  "interested",
  "not_interested",
  "meeting_booked",
  "out_of_office",
  "wrong_person",
  "unsubscribed",
  "bounced",
  "closed",
] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

export interface InboxThread {
  id: string;
  batchId: string;
  recipientEmail: string;
  senderId: string;
  subject: string;
  lastMessageAt: string | null;
  snippet: string;
  unread: boolean;
  leadStatus: LeadStatus;
  messageCount: number;
}

export interface InboxPage {
  threads: InboxThread[];
  pagination: Pagination;
}

export interface InboxQuery {
  leadStatus?: LeadStatus | "";
  senderId?: string;
  batchId?: string;
  unread?: boolean;
  q?: string;
  page?: number;
  limit?: number;
}

export interface ThreadAttachment {
  name: string;
  size: number;
  contentType: string;
}

export interface ThreadMessage {
  id: string;
  direction: "out" | "in";
  kind: "email" | "reply" | "auto_reply" | "bounce";
  from: string;
  to: string;
  subject: string;
  text: string;
  /** Sanitised by the server; remote images wait in `data-remote-src`. */
  html: string | null;
  messageId: string | null;
  at: string;
  status?: string | null;
  attachments?: ThreadAttachment[];
}

export interface ThreadDetail {
  thread: InboxThread;
  messages: ThreadMessage[];
}

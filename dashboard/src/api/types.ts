/** Types of the emailsched HTTP API (see SPEC.md and /openapi.json). Times are ISO 8601 strings. */

export type AuthMode = "dev" | "google";

export interface AuthConfig {
  authMode: AuthMode;
  googleClientId: string | null;
  /** Optional hints for the finish estimate, when the server shares them. */
  minDelayBetweenEmailsMs?: number;
  rateWindowSeconds?: number;
  defaultHourlyLimit?: number;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  avatar: string | null;
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

export interface ScheduleRequest {
  subject: string;
  body: string;
  recipients: string[];
  startTime: string;
  delayMs: number;
  hourlyLimit: number;
  sender: Sender;
}

export interface ScheduleResponse {
  success: boolean;
  batchId: string;
  emailCount: number;
  duplicatesRemoved: number;
  startTime: string;
  estimatedEndTime: string;
}

export type EmailStatus = "scheduled" | "queued" | "sending" | "sent" | "failed" | "paused" | "cancelled";

export const EMAIL_STATUSES: readonly EmailStatus[] = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "failed",
  "paused",
  "cancelled",
];

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
  return c.scheduled + c.queued + c.sending + c.paused;
}

#!/usr/bin/env node
// A throwaway in-memory stand-in for `emailsched api`, for working on the
// dashboard without the Python stack: serves dist/ at / and fakes the API
// (dev sign-in, scheduling, progress over time, pause/resume/cancel).
//   npm run build && npm run mock            # http://127.0.0.1:8787
// Recipients containing "fail" fail with a 550; "reject" is refused by /emails/schedule;
// "bounce" hard-bounces (and is suppressed); "reply" replies (its follow-ups stop).
// Senders (SPEC.md issue 13): POST /senders with the password "wrong" or a host with "bad"
// answers 422 sender_unverified with an SMTP-style reply; an address containing "failing"
// is stored but turns failing (its emails held). Suppressions, PATCH /auth/me, senderIds
// rotation, recipient fields, sendingWindow/randomDelayMs (kept, not planned) and steps
// (planned waitSeconds after the previous step) are faked too.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";

const PORT = Number(process.env.PORT || 8787);
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const WINDOW_MS = Number(process.env.RATE_WINDOW_SECONDS || 3600) * 1000;
const MIN_GAP = 1000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json" };

const users = new Map(); // token -> user
const batches = new Map(); // id -> batch
const emails = []; // all emails
const senders = new Map(); // id -> sender account (with userId)
const suppressions = new Map(); // userId -> Map(emailKey -> {email, reason, createdAt})

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const send = (res, status, body, headers = {}) => {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
};
const err = (res, status, code, message, details = []) => send(res, status, { error: { code, message, details } });
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$/;

function plan(count, start, delay, limit) {
  const gap = Math.max(delay, MIN_GAP);
  const out = [];
  let t = start, w = Math.floor(t / WINDOW_MS), n = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) t += gap;
    const ww = Math.floor(t / WINDOW_MS);
    if (ww !== w) { w = ww; n = 0; }
    if (n >= limit) { w += 1; t = w * WINDOW_MS; n = 0; }
    n++;
    out.push(t);
  }
  return out;
}

function tick() {
  const now = Date.now();
  for (const e of emails) {
    if ((e.status === "scheduled" || e.status === "queued") && e.due <= now) {
      e.attempts = 1;
      e.sentTime = new Date(e.due + 300).toISOString();
      const held = senders.get(e.senderId)?.status === "failing";
      const stopped = emails.some((x) => x.batchId === e.batchId && x.recipientEmail === e.recipientEmail && (x.status === "replied" || x.status === "failed"));
      if (held) { e.status = "held"; e.sentTime = null; e.attempts = 0; continue; }
      if (e.step > 1 && stopped) { e.status = /reply/i.test(e.recipientEmail) ? "replied" : "cancelled"; e.sentTime = null; continue; }
      if (e.step > 1 && /reply/i.test(e.recipientEmail)) { e.status = "replied"; e.sentTime = null; continue; }
      if (suppressedFor(e.userId, e.recipientEmail)) { e.status = "suppressed"; e.sentTime = null; continue; }
      if (/fail|bounce/i.test(e.recipientEmail)) {
        e.status = "failed";
        e.failureReason = "550 5.1.1 Mailbox does not exist";
        if (/bounce/i.test(e.recipientEmail)) suppress(e.userId, e.recipientEmail, "hard_bounce");
      } else e.status = "sent";
      const s = senders.get(e.senderId);
      if (s && e.status === "sent") s.sentToday++;
    } else if (e.status === "scheduled" && e.due - now < 60_000) e.status = "queued";
  }
}

function suppressedFor(userId, email) {
  return suppressions.get(userId)?.has(email.toLowerCase()) ?? false;
}
function suppress(userId, email, reason) {
  if (!suppressions.has(userId)) suppressions.set(userId, new Map());
  const m = suppressions.get(userId);
  if (!m.has(email.toLowerCase())) m.set(email.toLowerCase(), { email, reason, createdAt: new Date().toISOString() });
}
const senderView = ({ userId, password, ...s }) => s;

async function sendersApi(req, res, p, user) {
  const mineS = () => [...senders.values()].filter((s) => s.userId === user.id);
  if (p === "/senders" && req.method === "GET") return send(res, 200, { senders: mineS().map(senderView) });
  if (p === "/senders" && req.method === "POST") {
    const b = await body(req);
    if (!EMAIL_RE.test(b.email || "")) return err(res, 400, "validation_error", "Invalid sender", [{ field: "email", message: "Not a valid email address" }]);
    if (b.smtp && (b.smtp.password === "wrong" || /bad/.test(b.smtp.host || "")))
      return err(res, 422, "sender_unverified", /bad/.test(b.smtp.host) ? `Could not connect to ${b.smtp.host}:${b.smtp.port}: [Errno -2] Name or service not known` : "535 5.7.8 Authentication credentials invalid");
    const s = makeSender(user, b, b.smtp ? "smtp" : "relay");
    return send(res, 201, senderView(s));
  }
  const m = /^\/senders\/([^/]+)(\/verify)?$/.exec(p);
  const s = m && senders.get(m[1]);
  if (!s || s.userId !== user.id) return err(res, 404, "not_found", "No such sender");
  if (m[2] && req.method === "POST") {
    if (/failing/.test(s.email) && s.status === "failing") { s.lastError = "535 5.7.8 Authentication credentials invalid"; return err(res, 422, "sender_unverified", s.lastError); }
    s.status = "active"; s.lastError = null;
    for (const e of emails) if (e.senderId === s.id && e.status === "held") e.status = "scheduled";
    return send(res, 200, senderView(s));
  }
  if (req.method === "GET") return send(res, 200, senderView(s));
  if (req.method === "PATCH") {
    const b = await body(req);
    if (b.smtp && b.smtp.password === "wrong") return err(res, 422, "sender_unverified", "535 5.7.8 Authentication credentials invalid");
    for (const k of ["name", "hourlyLimit", "dailyLimit", "minDelayMs", "timezone"]) if (k in b) s[k] = b[k];
    if (b.smtp) { const { password, ...rest } = b.smtp; s.smtp = rest; s.status = "active"; s.lastError = null; }
    return send(res, 200, senderView(s));
  }
  if (req.method === "DELETE") {
    const unsent = emails.filter((e) => e.senderId === s.id && ["scheduled", "queued", "sending", "paused", "held"].includes(e.status)).length;
    if (unsent) return err(res, 409, "conflict", `Sender has ${unsent} unsent emails`);
    senders.delete(s.id);
    return send(res, 204);
  }
  return err(res, 405, "method_not_allowed", "Method not allowed");
}

function makeSender(user, b, kind) {
  const s = { id: randomUUID(), userId: user.id, email: b.email, name: b.name || "", kind, smtp: b.smtp ? { host: b.smtp.host, port: b.smtp.port, security: b.smtp.security, username: b.smtp.username } : null, imap: null, hourlyLimit: b.hourlyLimit ?? null, dailyLimit: b.dailyLimit ?? null, minDelayMs: b.minDelayMs ?? null, timezone: b.timezone ?? "UTC", status: "active", lastError: null, sentToday: 0, createdAt: new Date().toISOString() };
  if (/failing/.test(s.email)) { s.status = "failing"; s.lastError = "535 5.7.8 Authentication credentials invalid (3 times in a row)"; }
  senders.set(s.id, s);
  return s;
}

async function suppressionsApi(req, res, url, user) {
  const m = suppressions.get(user.id) ?? new Map();
  suppressions.set(user.id, m);
  const one = /^\/suppressions\/(.+)$/.exec(url.pathname);
  if (one && req.method === "DELETE") { m.delete(decodeURIComponent(one[1]).toLowerCase()); return send(res, 204); }
  if (req.method === "POST") {
    const b = await body(req);
    (b.emails || []).forEach((e) => suppress(user.id, e, "manual"));
    return send(res, 201, { added: (b.emails || []).length });
  }
  const list = [...m.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const { slice, pagination } = paginate(list, url.searchParams);
  return send(res, 200, { suppressions: slice, pagination });
}

function batchView(b) {
  const counts = { total: 0, scheduled: 0, queued: 0, sending: 0, sent: 0, failed: 0, paused: 0, cancelled: 0, held: 0, suppressed: 0, replied: 0 };
  let last = null;
  for (const e of emails) if (e.batchId === b.id) { counts.total++; counts[e.status]++; last = Math.max(last ?? 0, e.due); }
  const pending = counts.scheduled + counts.queued + counts.sending + counts.paused + counts.held;
  const status = b.status === "active" && pending === 0 ? "completed" : b.status;
  return { ...b, status, counts, estimatedEndTime: last ? new Date(last).toISOString() : null };
}

function emailView(e, sent) {
  const base = { id: e.id, batchId: e.batchId, recipientEmail: e.recipientEmail, subject: e.subject, scheduledTime: new Date(e.due).toISOString(), status: e.status, sender: e.sender, step: e.step };
  return sent ? { ...base, sentTime: e.sentTime, attempts: e.attempts, failureReason: e.failureReason } : base;
}

function paginate(items, q) {
  const page = Math.max(1, Number(q.get("page")) || 1);
  const limit = Math.min(100, Math.max(1, Number(q.get("limit")) || 20));
  return { slice: items.slice((page - 1) * limit, page * limit), pagination: { page, limit, total: items.length, pages: Math.max(1, Math.ceil(items.length / limit)) } };
}

async function body(req) {
  let s = "";
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

async function api(req, res, url) {
  const p = url.pathname;
  if (p === "/auth/config") return send(res, 200, { authMode: "dev", googleClientId: process.env.MOCK_GOOGLE_CLIENT_ID || null, rateWindowSeconds: WINDOW_MS / 1000 });
  if (p === "/auth/dev-login" && req.method === "POST") {
    const b = await body(req);
    if (!EMAIL_RE.test(b.email || "")) return err(res, 400, "invalid_request", "Invalid email", [{ field: "email", message: "Not a valid email address" }]);
    const user = { id: randomUUID(), email: b.email, name: b.name || null, avatar: null };
    const ttl = Number(process.env.MOCK_TOKEN_TTL || 8 * 3600);
    const token = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: user.id, exp: Math.floor(Date.now() / 1000) + ttl })}.sig`;
    users.set(token, user);
    return send(res, 200, { token, user });
  }
  const token = (req.headers.authorization || "").replace(/^Bearer /, "");
  const user = users.get(token);
  if (!user) return err(res, 401, "unauthorized", "Sign in first");
  tick();
  const mine = emails.filter((e) => e.userId === user.id);
  if (p === "/auth/me" && req.method === "PATCH") {
    const b = await body(req);
    if ("postalAddress" in b) user.postalAddress = b.postalAddress;
    return send(res, 200, { user });
  }
  if (p === "/auth/me") return send(res, 200, { user });
  if (p === "/senders" || p.startsWith("/senders/")) return sendersApi(req, res, p, user);
  if (p === "/suppressions" || p.startsWith("/suppressions/")) return suppressionsApi(req, res, url, user);
  // The inbox (SPEC.md "Inbox"): the mock has no reply poller, so no thread.
  if (p === "/inbox") return send(res, 200, { threads: [], pagination: paginate([], url.searchParams).pagination });
  if (p.startsWith("/inbox/")) return err(res, 404, "not_found", "no such thread");
  if (p === "/emails/schedule" && req.method === "POST") {
    const b = await body(req);
    const details = [];
    if (!b.subject) details.push({ field: "subject", message: "Subject is required" });
    if (!b.body) details.push({ field: "body", message: "Body is required" });
    b.recipients = (b.recipients || []).map((r) => (typeof r === "string" ? { email: r, fields: {} } : r));
    b.recipients.forEach((r, i) => { if (!EMAIL_RE.test(r.email) || /reject/i.test(r.email)) details.push({ field: `recipients[${i}]`, message: "Not a deliverable address", value: r.email }); });
    let via = [];
    if (Array.isArray(b.senderIds) && b.senderIds.length) {
      via = b.senderIds.map((id) => senders.get(id));
      if (via.some((s) => !s || s.userId !== user.id)) return err(res, 404, "not_found", "No such sender");
    } else if (b.sender && EMAIL_RE.test(b.sender.email || "")) {
      via = [[...senders.values()].find((s) => s.userId === user.id && s.email.toLowerCase() === b.sender.email.toLowerCase()) ?? makeSender(user, b.sender, "relay")];
    } else details.push({ field: "sender.email", message: "Not a valid email address" });
    (b.steps || []).forEach((st, i) => { if (!st.body) details.push({ field: `steps[${i}].body`, message: "Body is required" }); if (!(st.waitSeconds > 0)) details.push({ field: `steps[${i}].waitSeconds`, message: "At least 1" }); });
    if (!Array.isArray(b.recipients) || b.recipients.length === 0) details.push({ field: "recipients", message: "At least one recipient" });
    if (Number.isNaN(Date.parse(b.startTime)) || !/[+-]\d\d:\d\d$|Z$/.test(b.startTime || "")) details.push({ field: "startTime", message: "ISO 8601 with offset" });
    if (!(b.hourlyLimit >= 1)) details.push({ field: "hourlyLimit", message: "At least 1" });
    if (details.length) return err(res, 400, "validation_error", "Some fields are invalid", details);
    const seen = new Set();
    const unique = b.recipients.filter((r) => (seen.has(r.email.toLowerCase()) ? false : seen.add(r.email.toLowerCase())));
    const list = unique.filter((r) => !suppressedFor(user.id, r.email));
    const first = { email: via[0].email, name: via[0].name };
    const batch = { id: randomUUID(), userId: user.id, subject: b.subject, sender: first, senderIds: via.map((s) => s.id), startTime: new Date(Date.parse(b.startTime)).toISOString(), delayMs: b.delayMs, hourlyLimit: b.hourlyLimit, sendingWindow: b.sendingWindow ?? null, randomDelayMs: b.randomDelayMs ?? null, stepCount: 1 + (b.steps || []).length, status: "active", createdAt: new Date().toISOString() };
    batches.set(batch.id, batch);
    const shares = via.map((s, k) => ({ s, list: list.filter((_, i) => i % via.length === k) }));
    const out = shares.map(({ s, list: mine }) => {
      const times = plan(mine.length, Date.parse(b.startTime), b.delayMs + (b.randomDelayMs || 0) / 2, Math.min(b.hourlyLimit, s.hourlyLimit ?? Infinity));
      mine.forEach((r, i) => {
        let due = times[i];
        emails.push({ id: randomUUID(), userId: user.id, batchId: batch.id, senderId: s.id, step: 1, recipientEmail: r.email, subject: b.subject, sender: { email: s.email, name: s.name }, due, status: "scheduled", sentTime: null, attempts: 0, failureReason: null });
        (b.steps || []).forEach((st, k) => {
          due += st.waitSeconds * 1000;
          emails.push({ id: randomUUID(), userId: user.id, batchId: batch.id, senderId: s.id, step: k + 2, recipientEmail: r.email, subject: st.subject || `Re: ${b.subject}`, sender: { email: s.email, name: s.name }, due, status: "scheduled", sentTime: null, attempts: 0, failureReason: null });
        });
      });
      return { id: s.id, email: s.email, emailCount: mine.length, estimatedEndTime: new Date(times[times.length - 1] ?? Date.parse(b.startTime)).toISOString() };
    });
    const end = out.map((o) => o.estimatedEndTime).sort().at(-1);
    return send(res, 201, { success: true, batchId: batch.id, emailCount: list.length, duplicatesRemoved: b.recipients.length - unique.length, suppressedRemoved: unique.length - list.length, startTime: batch.startTime, estimatedEndTime: end, senders: out });
  }
  if (p === "/emails/scheduled" || p === "/emails/sent") {
    const sent = p.endsWith("sent");
    const bid = url.searchParams.get("batchId");
    let items = mine.filter((e) => (!bid || e.batchId === bid) && (sent ? ["sent", "failed", "suppressed", "replied"].includes(e.status) : ["scheduled", "queued", "sending", "paused", "held"].includes(e.status)));
    items = sent ? items.sort((a, b) => Date.parse(b.sentTime) - Date.parse(a.sentTime)) : items.sort((a, b) => a.due - b.due);
    const { slice, pagination } = paginate(items, url.searchParams);
    return send(res, 200, { emails: slice.map((e) => emailView(e, sent)), pagination });
  }
  if (p === "/emails/stats") {
    const c = (s) => mine.filter((e) => e.status === s).length;
    const hourAgo = Date.now() - 3_600_000;
    const perHour = new Map();
    for (const e of mine) if (e.sentTime) {
      const h = Math.floor(Date.parse(e.sentTime) / 3_600_000) * 3_600_000;
      const v = perHour.get(h) || { hour: new Date(h).toISOString(), sent: 0, failed: 0 };
      v[e.status === "failed" ? "failed" : "sent"]++;
      perHour.set(h, v);
    }
    if (process.env.MOCK_HISTORY) for (let i = 1; i < 24; i++) { const h = (Math.floor(Date.now() / 3_600_000) - i) * 3_600_000; perHour.set(h, { hour: new Date(h).toISOString(), sent: Math.round(80 + 70 * Math.sin(i / 3)), failed: i % 5 === 0 ? 6 : 1 }); }
    return send(res, 200, { total: mine.length, scheduled: c("scheduled"), queued: c("queued"), sending: c("sending"), sent: c("sent"), failed: c("failed"), cancelled: c("cancelled"), paused: c("paused"), sentLastHour: mine.filter((e) => e.status === "sent" && Date.parse(e.sentTime) >= hourAgo).length, perHour: [...perHour.values()] });
  }
  if (p === "/batches") {
    const list = [...batches.values()].filter((b) => b.userId === user.id).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(batchView).map(({ userId, stepCount, ...b }) => b);
    const { slice, pagination } = paginate(list, url.searchParams);
    return send(res, 200, { batches: slice, pagination });
  }
  const m = /^\/batches\/([^/]+)(?:\/(pause|resume|cancel))?$/.exec(p);
  if (m) {
    const b = batches.get(m[1]);
    if (!b || b.userId !== user.id) return err(res, 404, "not_found", "No such batch");
    const action = m[2];
    if (action) {
      const view = batchView(b);
      if (action === "pause" && view.status !== "active") return err(res, 409, "conflict", "Only an active batch can be paused");
      if (action === "resume" && view.status !== "paused") return err(res, 409, "conflict", "Only a paused batch can be resumed");
      if (action === "cancel" && !["active", "paused"].includes(view.status)) return err(res, 409, "conflict", "Batch already ended");
      for (const e of emails) if (e.batchId === b.id) {
        if (action === "pause" && ["scheduled", "queued", "held"].includes(e.status)) e.status = "paused";
        if (action === "resume" && e.status === "paused") e.status = "scheduled";
        if (action === "cancel" && ["scheduled", "queued", "paused"].includes(e.status)) e.status = "cancelled";
      }
      b.status = action === "pause" ? "paused" : action === "resume" ? "active" : "cancelled";
    }
    const { userId, stepCount, ...v } = batchView(b);
    return send(res, 200, v);
  }
  return err(res, 404, "not_found", "No such route");
}

createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  try {
    if (/^\/(auth|emails|batches|senders|suppressions)(\/|$)/.test(url.pathname)) return await api(req, res, url);
    if (url.pathname === "/config.js") {
      if (!process.env.MOCK_CONFIG_JS) return send(res, 404, { error: { code: "not_found", message: "no config" } });
      res.writeHead(200, { "Content-Type": "text/javascript" });
      return res.end(`window.__EMAILSCHED_CONFIG__ = ${process.env.MOCK_CONFIG_JS};`);
    }
    const rel = normalize(url.pathname === "/" ? "index.html" : url.pathname.slice(1));
    if (rel.startsWith("..")) return send(res, 400, {});
    const data = await readFile(join(DIST, rel)).catch(() => null);
    if (!data) return send(res, 404, { error: { code: "not_found", message: "Not found" } });
    res.writeHead(200, { "Content-Type": TYPES[extname(rel)] || "application/octet-stream" });
    res.end(data);
  } catch (e) {
    console.error(e);
    err(res, 500, "internal", String(e));
  }
}).listen(PORT, "127.0.0.1", () => console.log(`mock emailsched API + dashboard on http://127.0.0.1:${PORT}`));

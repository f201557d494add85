#!/usr/bin/env node
// A throwaway in-memory stand-in for `emailsched api`, for working on the
// dashboard without the Python stack: serves dist/ at / and fakes the API
// (dev sign-in, scheduling, progress over time, pause/resume/cancel).
//   npm run build && npm run mock            # http://127.0.0.1:8787
// Recipients containing "fail" fail with a 550; "reject" is refused by /emails/schedule.
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
      if (/fail/i.test(e.recipientEmail)) {
        e.status = "failed";
        e.failureReason = "550 5.1.1 Mailbox does not exist";
      } else e.status = "sent";
    } else if (e.status === "scheduled" && e.due - now < 60_000) e.status = "queued";
  }
}

function batchView(b) {
  const counts = { total: 0, scheduled: 0, queued: 0, sending: 0, sent: 0, failed: 0, paused: 0, cancelled: 0 };
  let last = null;
  for (const e of emails) if (e.batchId === b.id) { counts.total++; counts[e.status]++; last = Math.max(last ?? 0, e.due); }
  const pending = counts.scheduled + counts.queued + counts.sending + counts.paused;
  const status = b.status === "active" && pending === 0 ? "completed" : b.status;
  return { ...b, status, counts, estimatedEndTime: last ? new Date(last).toISOString() : null };
}

function emailView(e, sent) {
  const base = { id: e.id, batchId: e.batchId, recipientEmail: e.recipientEmail, subject: e.subject, scheduledTime: new Date(e.due).toISOString(), status: e.status, sender: e.sender };
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
  if (p === "/auth/me") return send(res, 200, { user });
  if (p === "/emails/schedule" && req.method === "POST") {
    const b = await body(req);
    const details = [];
    if (!b.subject) details.push({ field: "subject", message: "Subject is required" });
    if (!b.body) details.push({ field: "body", message: "Body is required" });
    (b.recipients || []).forEach((r, i) => { if (!EMAIL_RE.test(r) || /reject/i.test(r)) details.push({ field: `recipients[${i}]`, message: "Not a deliverable address", value: r }); });
    if (!Array.isArray(b.recipients) || b.recipients.length === 0) details.push({ field: "recipients", message: "At least one recipient" });
    if (Number.isNaN(Date.parse(b.startTime)) || !/[+-]\d\d:\d\d$|Z$/.test(b.startTime || "")) details.push({ field: "startTime", message: "ISO 8601 with offset" });
    if (!(b.hourlyLimit >= 1)) details.push({ field: "hourlyLimit", message: "At least 1" });
    if (details.length) return err(res, 400, "validation_error", "Some fields are invalid", details);
    const seen = new Set();
    const list = b.recipients.filter((r) => (seen.has(r.toLowerCase()) ? false : seen.add(r.toLowerCase())));
    const batch = { id: randomUUID(), userId: user.id, subject: b.subject, sender: b.sender, startTime: new Date(Date.parse(b.startTime)).toISOString(), delayMs: b.delayMs, hourlyLimit: b.hourlyLimit, status: "active", createdAt: new Date().toISOString() };
    batches.set(batch.id, batch);
    const times = plan(list.length, Date.parse(b.startTime), b.delayMs, b.hourlyLimit);
    list.forEach((r, i) => emails.push({ id: randomUUID(), userId: user.id, batchId: batch.id, recipientEmail: r, subject: b.subject, sender: b.sender, due: times[i], status: "scheduled", sentTime: null, attempts: 0, failureReason: null }));
    return send(res, 201, { success: true, batchId: batch.id, emailCount: list.length, duplicatesRemoved: b.recipients.length - list.length, startTime: batch.startTime, estimatedEndTime: new Date(times[times.length - 1]).toISOString() });
  }
  if (p === "/emails/scheduled" || p === "/emails/sent") {
    const sent = p.endsWith("sent");
    const bid = url.searchParams.get("batchId");
    let items = mine.filter((e) => (!bid || e.batchId === bid) && (sent ? e.status === "sent" || e.status === "failed" : ["scheduled", "queued", "sending", "paused"].includes(e.status)));
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
    const list = [...batches.values()].filter((b) => b.userId === user.id).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(batchView).map(({ userId, ...b }) => b);
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
        if (action === "pause" && ["scheduled", "queued"].includes(e.status)) e.status = "paused";
        if (action === "resume" && e.status === "paused") e.status = "scheduled";
        if (action === "cancel" && ["scheduled", "queued", "paused"].includes(e.status)) e.status = "cancelled";
      }
      b.status = action === "pause" ? "paused" : action === "resume" ? "active" : "cancelled";
    }
    const { userId, ...v } = batchView(b);
    return send(res, 200, v);
  }
  return err(res, 404, "not_found", "No such route");
}

createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  try {
    if (/^\/(auth|emails|batches)(\/|$)/.test(url.pathname)) return await api(req, res, url);
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

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, describeError } from "../../api/client";
import { LEAD_STATUSES, type Batch, type InboxPage, type InboxThread, type LeadStatus, type SenderAccount, type ThreadDetail, type ThreadMessage } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { useQuery } from "../../hooks/useQuery";
import { CHIP_STATUSES, LEAD_STATUS_LABELS, hasRemoteImages, inboxKeyAction, messageDocument } from "../../lib/inbox";
import { formatDateTime } from "../../lib/time";
import { EmptyState } from "../EmptyState";
import { Spinner } from "../Skeleton";
import { useToasts } from "../Toasts";

export interface InboxFilters {
  leadStatus: LeadStatus | "";
  senderId: string;
  batchId: string;
  unread: boolean;
  q: string;
}

/** The Inbox: every lead who answered, one thread each, read and answered here. */
export function InboxView({
  tick,
  batches,
  senders,
  onChanged,
}: {
  tick: number;
  batches: Batch[];
  senders: SenderAccount[];
  onChanged: () => void;
}) {
  const { api } = useAuth();
  const [filters, setFilters] = useState<InboxFilters>({ leadStatus: "", senderId: "", batchId: "", unread: false, q: "" });
  const [search, setSearch] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const [localTick, setLocalTick] = useState(0);
  const key = JSON.stringify(filters);
  const listQ = useQuery<InboxPage>(
    `inbox-${key}`,
    useCallback((s: AbortSignal) => api.listInbox({ ...filters, limit: 100 }, s), [api, filters]),
    { tick: tick + localTick, errorTitle: "Couldn't load the inbox" },
  );
  const threads = useMemo(() => listQ.data?.threads ?? [], [listQ.data]);
  const refresh = useCallback(() => {
    setLocalTick((t) => t + 1);
    onChanged();
  }, [onChanged]);

  useEffect(() => {
    const id = window.setTimeout(() => setFilters((f) => (f.q === search ? f : { ...f, q: search })), 250);
    return () => window.clearTimeout(id);
  }, [search]);

  const move = useCallback(
    (delta: number) => {
      if (threads.length === 0) return;
      const i = threads.findIndex((t) => t.id === selected);
      const next = i < 0 ? 0 : Math.min(threads.length - 1, Math.max(0, i + delta));
      setSelected(threads[next].id);
    },
    [threads, selected],
  );

  const replyRef = useRef<HTMLTextAreaElement | null>(null);
  const doneRef = useRef<() => void>(() => {});
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = inboxKeyAction(e.key, e.target, e.metaKey || e.ctrlKey || e.altKey);
      if (!action) return;
      e.preventDefault();
      if (action === "next") move(1);
      else if (action === "previous") move(-1);
      else if (action === "reply") replyRef.current?.focus();
      else if (action === "done") doneRef.current();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [move]);

  const senderName = (id: string) => senders.find((s) => s.id === id)?.email ?? "";
  return (
    <div className="inbox" data-testid="inbox">
      <div className="inbox-filters">
        <input
          type="search"
          className="input"
          placeholder="Search people, subjects, text…"
          aria-label="Search the inbox"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-testid="inbox-search"
        />
        <select className="input" aria-label="Lead status" value={filters.leadStatus} data-testid="inbox-status-filter"
          onChange={(e) => setFilters({ ...filters, leadStatus: e.target.value as LeadStatus | "" })}>
          <option value="">Any status</option>
          {LEAD_STATUSES.map((s) => <option key={s} value={s}>{LEAD_STATUS_LABELS[s]}</option>)}
        </select>
        <select className="input" aria-label="Sender" value={filters.senderId}
          onChange={(e) => setFilters({ ...filters, senderId: e.target.value })}>
          <option value="">Any sender</option>
          {senders.map((s) => <option key={s.id} value={s.id}>{s.email}</option>)}
        </select>
        <select className="input" aria-label="Campaign" value={filters.batchId}
          onChange={(e) => setFilters({ ...filters, batchId: e.target.value })}>
          <option value="">Any campaign</option>
          {batches.map((b) => <option key={b.id} value={b.id}>{b.subject}</option>)}
        </select>
        <label className="inbox-unread-toggle">
          <input type="checkbox" checked={filters.unread} onChange={(e) => setFilters({ ...filters, unread: e.target.checked })} /> Unread only
        </label>
      </div>
      <div className="inbox-panes">
        <ul className="inbox-list" aria-label="Conversations" data-testid="inbox-list">
          {listQ.loading && !listQ.data ? (
            <li className="card-pad"><Spinner label="Loading conversations" /></li>
          ) : threads.length === 0 ? (
            <li>
              <EmptyState title="No replies yet" testId="inbox-empty">
                Replies, out-of-office notes and bounces to your campaigns appear here.
              </EmptyState>
            </li>
          ) : (
            threads.map((t) => (
              <ThreadRow key={t.id} thread={t} active={t.id === selected} sender={senderName(t.senderId)} onOpen={() => setSelected(t.id)} />
            ))
          )}
        </ul>
        <section className="inbox-reading" aria-label="Conversation" data-testid="inbox-reading">
          {selected ? (
            <Conversation key={selected} threadId={selected} replyRef={replyRef} doneRef={doneRef} onChanged={refresh} onDone={() => move(1)} />
          ) : (
            <p className="muted card-pad">Pick a conversation (j / k to move, r to reply, e to mark done).</p>
          )}
        </section>
      </div>
    </div>
  );
}

function ThreadRow({ thread, active, sender, onOpen }: { thread: InboxThread; active: boolean; sender: string; onOpen: () => void }) {
  const ref = useRef<HTMLLIElement | null>(null);
  useEffect(() => {
    if (active) ref.current?.scrollIntoView?.({ block: "nearest" });
  }, [active]);
  return (
    <li ref={ref} className={`inbox-row${active ? " active" : ""}${thread.unread ? " unread" : ""}`} data-testid="inbox-row" data-unread={thread.unread}>
      <button type="button" onClick={onOpen} aria-current={active}>
        <span className="inbox-row-top">
          <strong>{thread.recipientEmail}</strong>
          <span className="muted">{thread.lastMessageAt ? formatDateTime(thread.lastMessageAt) : ""}</span>
        </span>
        <span className="inbox-row-subject">{thread.subject} <span className="muted">({thread.messageCount})</span></span>
        <span className="inbox-row-snippet muted">{thread.snippet}</span>
        <span className="inbox-row-meta">
          <span className={`lead-status lead-${thread.leadStatus}`} data-testid="lead-status">{LEAD_STATUS_LABELS[thread.leadStatus]}</span>
          {sender && <span className="muted">via {sender}</span>}
        </span>
      </button>
    </li>
  );
}

function Conversation({
  threadId,
  replyRef,
  doneRef,
  onChanged,
  onDone,
}: {
  threadId: string;
  replyRef: React.MutableRefObject<HTMLTextAreaElement | null>;
  doneRef: React.MutableRefObject<() => void>;
  onChanged: () => void;
  onDone: () => void;
}) {
  const { api } = useAuth();
  const toasts = useToasts();
  const [tick, setTick] = useState(0);
  const detailQ = useQuery<ThreadDetail>(`thread-${threadId}`, useCallback((s: AbortSignal) => api.getThread(threadId, s), [api, threadId]), {
    tick,
    errorTitle: "Couldn't load the conversation",
  });
  const [body, setBody] = useState("");
  const [sending, setSending] = useState(false);
  const wasUnread = useRef(true);
  useEffect(() => {
    // Opening marks it read on the server: the list's unread counts follow.
    if (detailQ.data && wasUnread.current) {
      wasUnread.current = false;
      onChanged();
    }
  }, [detailQ.data, onChanged]);

  const setStatus = useCallback(
    async (leadStatus: LeadStatus) => {
      try {
        await api.updateThread(threadId, { leadStatus });
        setTick((t) => t + 1);
        onChanged();
      } catch (err) {
        toasts.push({ kind: "error", title: "Couldn't change the status", message: describeError(err) });
      }
    },
    [api, threadId, onChanged, toasts],
  );
  useEffect(() => {
    doneRef.current = () => {
      void setStatus("closed").then(onDone);
    };
  }, [doneRef, setStatus, onDone]);

  const send = async () => {
    if (!body.trim()) return;
    setSending(true);
    try {
      const html = body
        .split(/\n{2,}/)
        .map((p) => `<p>${p.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, "<br>")}</p>`)
        .join("");
      await api.replyToThread(threadId, html);
      setBody("");
      setTick((t) => t + 1);
      onChanged();
      toasts.push({ kind: "success", title: "Reply on its way", message: "It goes out through this lead's sender." });
    } catch (err) {
      const suppressed = err instanceof ApiError && err.status === 409;
      toasts.push({ kind: "error", title: suppressed ? "This lead is suppressed" : "Couldn't send the reply", message: describeError(err) });
    } finally {
      setSending(false);
    }
  };

  const detail = detailQ.data;
  if (!detail) return <div className="card-pad"><Spinner label="Loading the conversation" /></div>;
  const { thread, messages } = detail;
  return (
    <div className="conversation">
      <header className="conversation-head">
        <div>
          <h2>{thread.subject}</h2>
          <p className="muted">{thread.recipientEmail}</p>
        </div>
        <div className="chips" role="group" aria-label="Lead status">
          <span className={`lead-status lead-${thread.leadStatus}`} data-testid="thread-status">{LEAD_STATUS_LABELS[thread.leadStatus]}</span>
          {CHIP_STATUSES.map((s) => (
            <button key={s} type="button" className="chip" aria-pressed={thread.leadStatus === s} onClick={() => void setStatus(s)} data-testid={`chip-${s}`}>
              {LEAD_STATUS_LABELS[s]}
            </button>
          ))}
        </div>
      </header>
      <ol className="messages">
        {messages.map((m) => <MessageItem key={m.id} message={m} />)}
      </ol>
      <div className="reply-box">
        <textarea
          ref={replyRef}
          className="input"
          rows={4}
          placeholder={`Reply to ${thread.recipientEmail}… (r)`}
          aria-label="Reply"
          value={body}
          onChange={(e) => setBody(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) void send();
          }}
          data-testid="reply-body"
        />
        <button type="button" className="btn btn-primary" disabled={sending || !body.trim()} onClick={() => void send()} data-testid="reply-send">
          {sending ? <Spinner /> : null} Send reply
        </button>
      </div>
    </div>
  );
}

function MessageItem({ message }: { message: ThreadMessage }) {
  const [images, setImages] = useState(false);
  const kind = { email: "Sent", reply: message.direction === "out" ? "Our reply" : "Reply", auto_reply: "Automatic reply", bounce: "Bounce" }[message.kind];
  return (
    <li className={`message message-${message.direction}`} data-testid={`message-${message.direction}`}>
      <div className="message-head">
        <strong>{message.from}</strong>
        <span className="muted">{kind} · {formatDateTime(message.at)}{message.status && message.status !== "sent" ? ` · ${message.status}` : ""}</span>
      </div>
      {message.html ? (
        <>
          {hasRemoteImages(message.html) && !images && (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => setImages(true)} data-testid="load-images">
              Load remote images
            </button>
          )}
          <iframe
            title={`Message from ${message.from}`}
            sandbox="allow-popups allow-popups-to-escape-sandbox"
            srcDoc={messageDocument(message.html, images)}
            className="message-html"
            data-testid="message-html"
          />
        </>
      ) : (
        <pre className="message-text">{message.text}</pre>
      )}
      {(message.attachments ?? []).length > 0 && (
        <ul className="attachments">
          {(message.attachments ?? []).map((a) => (
            <li key={a.name}>📎 {a.name} <span className="muted">({Math.ceil(a.size / 1024)} KB, {a.contentType})</span></li>
          ))}
        </ul>
      )}
    </li>
  );
}

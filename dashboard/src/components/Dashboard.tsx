import { useCallback, useEffect, useMemo, useState } from "react";
import { pendingCount, type AuthConfig, type BatchPage, type InboxPage, type ScheduleResponse, type SkippedRows, type SenderList, type Stats } from "../api/types";
import { ApiError } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { disableGoogleAutoSelect } from "../auth/google";
import { pollIntervalMs } from "../config";
import { useHashRoute, type Tab } from "../hooks/useHashRoute";
import { useNow } from "../hooks/useNow";
import { useQuery } from "../hooks/useQuery";
import type { PlanOptions } from "../lib/schedule";
import { formatDateTime } from "../lib/time";
import { BatchesView, BatchList } from "./BatchesView";
import { ComposeDrawer } from "./Compose";
import { isDraftDirty, newDraft, type ComposeDraft } from "./composeDraft";
import { EmailsView } from "./EmailsView";
import { EmptyState } from "./EmptyState";
import { Header } from "./Header";
import { IntegrationsView } from "./integrations/IntegrationsView";
import { InboxView } from "./inbox/InboxView";
import { EditIcon, RefreshIcon, SendIcon } from "./Icons";
import { Spinner } from "./Skeleton";
import { scheduledMessage } from "./scheduledMessage";
import { SendersView } from "./senders/SendersView";
import { SettingsView } from "./senders/SettingsView";
import { SuppressionsView } from "./senders/SuppressionsView";
import { HourlyChart, StatsCards, StatsOutcomes } from "./StatsView";
import { Tabs } from "./Tabs";
import { useToasts } from "./Toasts";

const IDLE_POLL_MS = 30_000;

/** A server from before sender accounts (404 on /senders): no senders, no error toast. */
function noSendersRoute(err: unknown): SenderList {
  if (err instanceof ApiError && err.status === 404) return { senders: [] };
  throw err;
}

/** "1 failing" on the Senders tab while any sender fails. */
function failingBadge(senders: SenderList["senders"] | null): string | undefined {
  const n = senders?.filter((s) => s.status === "failing").length ?? 0;
  return n > 0 ? `${n} failing` : undefined;
}

function positiveInt(v: string | null, fallback: number): number {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

export function Dashboard({ authConfig }: { authConfig: AuthConfig | null }) {
  const { api, user, signOut } = useAuth();
  const toasts = useToasts();
  const [route, navigate] = useHashRoute();
  const [tick, setTick] = useState(0);
  const now = useNow(15_000, tick);
  const bump = useCallback(() => setTick((t) => t + 1), []);
  const [composeOpen, setComposeOpen] = useState(false);
  const [draft, setDraftState] = useState<ComposeDraft>(() => newDraft(user, authConfig?.defaultHourlyLimit));
  const setDraft = useCallback((u: (d: ComposeDraft) => ComposeDraft) => setDraftState(u), []);

  const planOptions = useMemo<PlanOptions>(
    () => ({
      minGapMs: authConfig?.minDelayBetweenEmailsMs ?? undefined,
      windowMs: authConfig?.rateWindowSeconds ? authConfig.rateWindowSeconds * 1000 : undefined,
    }),
    [authConfig],
  );

  const statsQ = useQuery<Stats>("stats", useCallback((s: AbortSignal) => api.stats(s), [api]), {
    tick,
    errorTitle: "Couldn't load statistics",
  });
  const batchesQ = useQuery<BatchPage>(
    "batches-recent",
    useCallback((s: AbortSignal) => api.listBatches({ page: 1, limit: 100 }, s), [api]),
    { tick, errorTitle: "Couldn't load batches" },
  );
  const batches = useMemo(() => batchesQ.data?.batches ?? [], [batchesQ.data]);
  // Sender accounts: for Compose, the Senders page and flagging failing senders on batches.
  // A server without /senders yet leaves the list null (Compose types an address).
  const sendersQ = useQuery<SenderList>("senders", useCallback((s: AbortSignal) => api.listSenders(s).catch(noSendersRoute), [api]), {
    tick,
    errorTitle: "Couldn't load senders",
  });
  const senders = sendersQ.data?.senders ?? null;
  const stats = statsQ.data;
  // The navigation's unread count: one row is enough, the total says how many.
  const unreadQ = useQuery<InboxPage | null>(
    "inbox-unread",
    useCallback((s: AbortSignal) => api.listInbox({ unread: true, limit: 1 }, s).catch(() => null), [api]),
    { tick, errorTitle: "Couldn't load the inbox" },
  );
  const unread = unreadQ.data?.pagination.total ?? 0;

  const pending =
    (stats ? stats.scheduled + stats.queued + stats.sending > 0 : false) ||
    batches.some((b) => b.status === "active" && pendingCount(b.counts) - b.counts.paused > 0);

  // Refresh every few seconds while anything is pending; slowly otherwise; not while hidden.
  useEffect(() => {
    let timer = 0;
    const schedule = () => {
      window.clearTimeout(timer);
      if (document.visibilityState === "hidden") return;
      timer = window.setTimeout(() => {
        bump();
        schedule();
      }, pending ? pollIntervalMs() : IDLE_POLL_MS);
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") {
        bump();
        schedule();
      } else window.clearTimeout(timer);
    };
    schedule();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [pending, bump]);

  const openCompose = useCallback(() => setComposeOpen(true), []);
  const closeCompose = useCallback(() => setComposeOpen(false), []);

  const onScheduled = (res: ScheduleResponse, _req?: unknown, skipped?: SkippedRows) => {
    setComposeOpen(false);
    bump();
    toasts.push({
      kind: "success",
      title: `Scheduled ${res.emailCount.toLocaleString()} ${res.emailCount === 1 ? "email" : "emails"}`,
      message: scheduledMessage(res, formatDateTime, skipped),
      action: { label: "View emails", onClick: () => navigate("scheduled", { batch: res.batchId }) },
      timeout: 8000,
    });
    navigate("batches");
  };

  const logout = () => {
    disableGoogleAutoSelect();
    signOut("logout");
  };

  const { tab, params } = route;
  const batchParam = params.get("batch") ?? "";
  const page = positiveInt(params.get("page"), 1);
  const limit = positiveInt(params.get("limit"), tab === "batches" ? 10 : 20);
  const setQuery = (t: Tab) => (q: { batchId?: string; page?: number; limit?: number }) =>
    navigate(t, {
      batch: q.batchId !== undefined ? q.batchId : batchParam,
      page: q.page ?? page,
      limit: q.limit ?? (params.get("limit") ? limit : undefined),
    });

  // What the Scheduled tab lists: paused emails included.
  const pendingNow = stats ? stats.scheduled + stats.queued + stats.sending + (stats.paused ?? 0) : undefined;
  const tabs = [
    { id: "overview" as const, label: "Overview" },
    { id: "inbox" as const, label: "Inbox", badge: unread ? unread.toLocaleString() : undefined },
    { id: "scheduled" as const, label: "Scheduled", badge: pendingNow ? pendingNow.toLocaleString() : undefined },
    { id: "sent" as const, label: "Sent" },
    { id: "batches" as const, label: "Batches", badge: batchesQ.data ? batchesQ.data.pagination.total.toLocaleString() : undefined },
    { id: "senders" as const, label: "Senders", badge: failingBadge(senders) },
    { id: "suppressions" as const, label: "Suppressions" },
    { id: "settings" as const, label: "Settings" },
  ];

  const activeBatches = batches.filter((b) => b.status === "active" || b.status === "paused").slice(0, 3);
  const viewEmails = (batchId: string, t: "scheduled" | "sent") => navigate(t, { batch: batchId });

  if (!user) return null;
  return (
    <div className="app-shell">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <Header user={user} onLogout={logout} onCompose={openCompose} />
      <main id="main" className="main" tabIndex={-1}>
        <div className="page-head">
          <div>
            <h1>Campaigns</h1>
            <p className="muted">
              {pending ? (
                <span className="live" data-testid="live-indicator">
                  <span className="live-dot" aria-hidden="true" /> Sending in progress · updates every few seconds
                </span>
              ) : (
                "Everything you schedule, send and pause — in one place."
              )}
            </p>
          </div>
          <button type="button" className="btn btn-secondary" onClick={bump} aria-label="Refresh data" data-testid="refresh">
            {statsQ.refreshing || batchesQ.refreshing ? <Spinner /> : <RefreshIcon />} Refresh
          </button>
        </div>

        <StatsCards stats={stats} loading={statsQ.loading} />
        <StatsOutcomes stats={stats ?? null} batches={batches} />

        <Tabs tabs={tabs} active={tab} onSelect={(t) => navigate(t)} label="Dashboard sections" />

        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel" data-testid={`panel-${tab}`}>
          {tab === "overview" && (
            <div className="overview">
              <HourlyChart stats={stats} now={now} loading={statsQ.loading} />
              <section className="card" aria-labelledby="active-title">
                <div className="card-header">
                  <div>
                    <h2 id="active-title">Active batches</h2>
                    <p className="muted">Campaigns still sending or on hold.</p>
                  </div>
                  <a className="btn btn-ghost btn-sm" href="#/batches">
                    All batches →
                  </a>
                </div>
                {batchesQ.loading && !batchesQ.data ? (
                  <div className="card-pad"><Spinner label="Loading batches" /></div>
                ) : activeBatches.length === 0 ? (
                  <EmptyState
                    title={batches.length === 0 ? "No campaigns yet" : "Nothing sending right now"}
                    icon={<SendIcon />}
                    testId="overview-empty"
                    action={
                      <button type="button" className="btn btn-primary" onClick={openCompose}>
                        {batches.length === 0 ? "Schedule your first campaign" : "New campaign"}
                      </button>
                    }
                  >
                    {batches.length === 0
                      ? "Write an email, upload your recipients and pick a pace; emailsched does the rest."
                      : "All your batches have finished. Start another one whenever you're ready."}
                  </EmptyState>
                ) : (
                  <BatchList batches={activeBatches} now={now} senders={senders ?? []} onViewEmails={viewEmails} onChanged={bump} compact />
                )}
              </section>
            </div>
          )}
          {(tab === "scheduled" || tab === "sent") && (
            <EmailsView
              key={tab}
              kind={tab}
              batchId={batchParam}
              page={page}
              limit={limit}
              tick={tick}
              now={now}
              batches={batches}
              onQuery={setQuery(tab)}
              onCompose={openCompose}
            />
          )}
          {tab === "batches" && (
            <BatchesView
              page={page}
              limit={limit}
              tick={tick}
              now={now}
              onQuery={setQuery("batches")}
              onCompose={openCompose}
              onViewEmails={viewEmails}
              onChanged={bump}
              senders={senders ?? []}
            />
          )}
          {tab === "inbox" && <InboxView tick={tick} batches={batches} senders={senders ?? []} onChanged={bump} />}
          {tab === "senders" && (
            <SendersView
              senders={senders}
              loading={sendersQ.loading}
              error={sendersQ.error}
              reload={sendersQ.reload}
              oauthProviders={authConfig?.oauthProviders ?? []}
              params={params}
              clearParams={() => navigate("senders")}
              testSmtp={authConfig?.testSmtp ?? null}
            />
          )}
          {tab === "suppressions" && <SuppressionsView page={page} limit={limit} tick={tick} onQuery={setQuery("suppressions")} />}
          {tab === "settings" && (
            <>
              <SettingsView />
              <IntegrationsView />
            </>
          )}
        </div>
      </main>
      {composeOpen && (
        <ComposeDrawer
          draft={draft}
          setDraft={setDraft}
          planOptions={planOptions}
          senders={senders}
          onClose={closeCompose}
          onScheduled={onScheduled}
        />
      )}
      {!composeOpen && isDraftDirty(draft) && (
        <button type="button" className="draft-pill" onClick={openCompose} data-testid="resume-draft">
          <EditIcon /> Continue your draft
        </button>
      )}
    </div>
  );
}

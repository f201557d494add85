import type { Funnel } from "../api/types";

export interface FunnelStage {
  key: "sent" | "opened" | "clicked" | "replied";
  label: string;
  count: number;
  /** Fraction of sent (1 for sent itself). */
  rate: number;
}

/** The funnel sent → opened → clicked → replied, people only (machines are apart). */
export function funnelStages(f: Funnel): FunnelStage[] {
  return [
    { key: "sent", label: "Sent", count: f.sent, rate: f.sent > 0 ? 1 : 0 },
    { key: "opened", label: "Opened", count: f.opened, rate: f.openRate },
    { key: "clicked", label: "Clicked", count: f.clicked, rate: f.clickRate },
    { key: "replied", label: "Replied", count: f.replied, rate: f.replyRate },
  ];
}

/** 0.4123 → "41.2 %". */
export function percent(rate: number): string {
  return `${(Math.round(rate * 1000) / 10).toLocaleString()} %`;
}

import type { ReactNode } from "react";
import { AlertIcon, InboxIcon } from "./Icons";

export function EmptyState({
  title,
  children,
  action,
  icon = <InboxIcon />,
  testId,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  icon?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="empty-state" data-testid={testId ?? "empty-state"}>
      <div className="empty-icon" aria-hidden="true">
        {icon}
      </div>
      <h3>{title}</h3>
      {children && <p className="muted">{children}</p>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

export function ErrorState({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <div className="empty-state error-state" role="alert" data-testid="error-state">
      <div className="empty-icon" aria-hidden="true">
        <AlertIcon />
      </div>
      <h3>Couldn't load this</h3>
      <p className="muted">{message}</p>
      <div className="empty-action">
        <button type="button" className="btn btn-secondary" onClick={onRetry}>
          Retry
        </button>
      </div>
    </div>
  );
}

import type { User } from "../api/types";
import { Avatar } from "./Avatar";
import { PlusIcon } from "./Icons";
import { Logo } from "./Logo";

export function Header({ user, onLogout, onCompose }: { user: User; onLogout: () => void; onCompose: () => void }) {
  return (
    <header className="app-header" data-testid="app-header">
      <div className="header-inner">
        <a className="brand" href="#/overview" aria-label="emailsched home">
          <Logo />
          <span className="brand-name">emailsched</span>
        </a>
        <div className="header-actions">
          <button type="button" className="btn btn-primary" onClick={onCompose} data-testid="compose-open">
            <PlusIcon /> New campaign
          </button>
          <div className="user-chip" data-testid="user-menu">
            <Avatar name={user.name} email={user.email} src={user.avatar} size={34} />
            <div className="user-text">
              <span className="user-name" data-testid="user-name">
                {user.name || user.email.split("@")[0]}
              </span>
              <span className="user-email" data-testid="user-email">
                {user.email}
              </span>
            </div>
          </div>
          <button type="button" className="btn btn-ghost" onClick={onLogout} data-testid="logout">
            Log out
          </button>
        </div>
      </div>
    </header>
  );
}

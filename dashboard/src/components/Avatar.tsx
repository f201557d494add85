import { useState } from "react";
import { initials } from "../auth/session";

export function Avatar({ name, email, src, size = 32 }: { name: string | null; email: string; src: string | null; size?: number }) {
  const [broken, setBroken] = useState(false);
  const style = { width: size, height: size, fontSize: Math.round(size * 0.4) };
  if (src && !broken) {
    return (
      <img
        className="avatar"
        src={src}
        alt=""
        style={style}
        referrerPolicy="no-referrer"
        onError={() => setBroken(true)}
        data-testid="user-avatar"
      />
    );
  }
  return (
    <span className="avatar avatar-initials" style={style} aria-hidden="true" data-testid="user-avatar">
      {initials(name, email)}
    </span>
  );
}

export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false" className="logo">
      <defs>
        <linearGradient id="logo-g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="var(--brand-500)" />
          <stop offset="1" stopColor="var(--brand-700)" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="8" fill="url(#logo-g)" />
      <path d="M7 11.5 16 17l9-5.5" fill="none" stroke="#fff" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
      <rect x="7" y="9" width="18" height="14" rx="2.5" fill="none" stroke="#fff" strokeWidth="2" />
      <circle cx="24" cy="22" r="5" fill="#fff" />
      <path d="M24 19.6V22l1.6 1.1" fill="none" stroke="var(--brand-700)" strokeWidth="1.6" strokeLinecap="round" />
    </svg>
  );
}

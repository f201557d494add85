export function Spinner({ label }: { label?: string }) {
  return (
    <span className="spinner" role={label ? "status" : undefined} aria-label={label}>
      <span aria-hidden="true" />
    </span>
  );
}

export function SkeletonLine({ width = "100%", height = 12 }: { width?: string | number; height?: number }) {
  return <span className="skeleton" style={{ width, height }} aria-hidden="true" />;
}

/** Placeholder rows while a table loads. */
export function SkeletonRows({ rows = 6, cols }: { rows?: number; cols: number }) {
  const widths = ["70%", "85%", "55%", "40%", "65%", "50%"];
  return (
    <>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} className="skeleton-row" aria-hidden="true">
          {Array.from({ length: cols }, (_, c) => (
            <td key={c}>
              <SkeletonLine width={widths[(r + c) % widths.length]} />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

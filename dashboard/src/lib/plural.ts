/** "1 line" / "2 lines": a count with its noun in the right number. */
export function countOf(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

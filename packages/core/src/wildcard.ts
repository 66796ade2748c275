/**
 * X-Ray's wildcard match, as the X-Ray SDKs implement it: `*` matches any run of characters (also an
 * empty one), `?` exactly one character, everything else itself. The whole text must match. The match
 * is case-insensitive unless `caseInsensitive` is `false`. A missing (`null`/`undefined`) pattern or
 * text never matches.
 *
 * The algorithm is the iterative one of the SDKs (a greedy scan that backtracks only to the last `*`),
 * so it is linear in practice and never recursive.
 *
 * @example wildcardMatch('*.example.com', 'api.EXAMPLE.com') // true
 */
export function wildcardMatch(
  pattern: string | null | undefined,
  text: string | null | undefined,
  caseInsensitive = true,
): boolean {
  if (pattern == null || text == null) return false;
  if (pattern === '*') return true;
  if (caseInsensitive) {
    pattern = pattern.toLowerCase();
    text = text.toLowerCase();
  }
  if (pattern.indexOf('*') === -1 && pattern.indexOf('?') === -1) return pattern === text;

  const pLen = pattern.length;
  const tLen = text.length;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < tLen) {
    const pc = p < pLen ? pattern.charCodeAt(p) : -1;
    if (pc === 42 /* * */) {
      starP = p++;
      starT = t;
    } else if (pc !== -1 && (pc === 63 /* ? */ || pc === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pLen && pattern.charCodeAt(p) === 42) p++;
  return p === pLen;
}

// Rewrites the shared SQL's `?` placeholders into PostgreSQL's numbered `$1, $2…`, cached per SQL text.

const MAX_CACHED = 2000;
const cache = new Map<string, string>();

/**
 * Numbers each `?` outside string literals, quoted identifiers and comments. Our SQL never puts a
 * `?` inside a literal (placeholders carry every value), but skipping them keeps that from mattering.
 */
export function numberPlaceholders(sql: string): string {
  const cached = cache.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      // Standard-conforming strings: a quote is escaped by doubling it, backslashes are plain.
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(sql, out);
  return out;
}

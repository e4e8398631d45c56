// The benches' command line: `--name=value` (split at the first `=`, so a URL's own `=` stays in its
// value) and bare `--flag` (value undefined).

export function benchArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string | undefined> {
  return new Map(argv.map((a) => a.replace(/^--/, '').split(/=(.*)/s).slice(0, 2) as [string, string | undefined]));
}

// Start times people type ("in 2h", "tomorrow 9:00", "2026-12-24 08:00", ISO 8601), read in a time zone (TZ).
import { InvalidError } from '../errors.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const UNIT_WORDS: Record<string, string> = {
  sec: 's', secs: 's', second: 's', seconds: 's', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h', day: 'd', days: 'd', week: 'w', weeks: 'w',
};

/** Offset of `zone` from UTC at `ms`, in ms (positive east of Greenwich). */
function zoneOffset(ms: number, zone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time in `zone` names. */
function wallTime(y: number, mo: number, d: number, h: number, mi: number, zone: string): number {
  const guess = Date.UTC(y, mo, d, h, mi);
  const first = guess - zoneOffset(guess, zone);
  return guess - zoneOffset(first, zone);
}

/** Today's date in `zone`. */
function today(now: number, zone: string): { y: number; mo: number; d: number } {
  const local = new Date(now + zoneOffset(now, zone));
  return { y: local.getUTCFullYear(), mo: local.getUTCMonth(), d: local.getUTCDate() };
}

/** Epoch ms of a start time, or throws INVALID naming the forms understood. */
export function parseStartTime(text: string, now: number, zone = 'UTC'): number {
  const input = text.trim().toLowerCase();
  if (/^\d{10,}$/.test(input)) return Number(input);
  const relative = input.match(/^in\s+(\d+(?:\.\d+)?)\s*([a-z]+)$/);
  if (relative) {
    const unit = UNIT_MS[relative[2]!] ? relative[2]! : UNIT_WORDS[relative[2]!];
    if (unit) return now + Math.round(Number(relative[1]) * UNIT_MS[unit]!);
  }
  const clock = input.match(/^(?:(today|tomorrow|(\d{4})-(\d{2})-(\d{2}))[ t]+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/);
  if (clock && (clock[6] !== undefined || clock[7] !== undefined || clock[1] !== undefined)) {
    let hour = Number(clock[5]);
    const minute = Number(clock[6] ?? 0);
    if (clock[7] === 'pm' && hour < 12) hour += 12;
    if (clock[7] === 'am' && hour === 12) hour = 0;
    if (hour < 24 && minute < 60) {
      const day = clock[2] ? { y: Number(clock[2]), mo: Number(clock[3]) - 1, d: Number(clock[4]) } : today(now, zone);
      const at = wallTime(day.y, day.mo, day.d + (clock[1] === 'tomorrow' ? 1 : 0), hour, minute, zone);
      // A bare time already past today means tomorrow's.
      return !clock[1] && at <= now ? wallTime(day.y, day.mo, day.d + 1, hour, minute, zone) : at;
    }
  }
  const iso = Date.parse(text.trim());
  if (/^\d{4}-\d{2}-\d{2}t.*(z|[+-]\d{2}:?\d{2})$/.test(input) && Number.isFinite(iso)) return iso;
  throw new InvalidError(`Cannot read the start time "${text}": use "in 2h", "in 30m", "tomorrow 9:00", "17:30", "2026-12-24 08:00" (${zone}) or ISO 8601`);
}

import { MINUTE_MS } from './geo.ts';
import type { OpeningHours } from './records.ts';

/** Minute of the local day (0–1439) at `time` for a place `utcOffsetMinutes` from UTC. */
export function localMinuteOfDay(time: number, utcOffsetMinutes: number): number {
  return (((Math.floor(time / MINUTE_MS) + utcOffsetMinutes) % 1440) + 1440) % 1440;
}

/** Whether a local minute falls in the opening window; null hours mean always open. Windows may pass midnight. */
export function isOpenAt(minute: number, hours: OpeningHours | null): boolean {
  if (hours === null) return true;
  return hours.opensAtMinute <= hours.closesAtMinute
    ? minute >= hours.opensAtMinute && minute < hours.closesAtMinute
    : minute >= hours.opensAtMinute || minute < hours.closesAtMinute;
}

/**
 * Registration with a Prometheus that discovers targets from files (file_sd_configs): a service
 * writes one JSON file naming its /metrics address and labels, and removes it when it stops.
 * Prometheus re-reads the directory on its own; nothing else has to be told.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScrapeTarget {
  /** host:port of the /metrics endpoint. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Writes `<dir>/<name>.json` (atomically: Prometheus may read it at any moment); returns the unregistration. */
export function registerScrapeTarget(dir: string, name: string, target: ScrapeTarget): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify([{ targets: [target.address], labels: target.labels }]));
  renameSync(partial, file);
  return () => rmSync(file, { force: true });
}

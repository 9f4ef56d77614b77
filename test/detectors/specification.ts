/**
 * Given / when / then for the detectors (after emmett's DeciderSpecification): given these
 * records, when these arrive, then these verdicts — the ones the `when` records add to what the
 * `given` records alone produce. Runs the real engine (all stages, event-time queues included) in
 * memory, to the end of input.
 */
import { expect } from 'vitest';
import type { FraudAlert } from '../../services/core/records.ts';
import type { ParsedRecord } from '../../services/core/jsonl/record-line.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { defaultThresholds, type Thresholds } from '../../services/detectors/thresholds.ts';
import { ReplayPipeline } from '../../services/replay/replay-pipeline.ts';

const defaultPartitions = loadConfig({}).partitions;

export type SpecRecord = Extract<ParsedRecord, { ok: true }>;

function run(records: readonly SpecRecord[], thresholds: Thresholds): FraudAlert[] {
  const alerts: FraudAlert[] = [];
  const pipeline = new ReplayPipeline(thresholds, defaultPartitions, (a) => alerts.push(a));
  for (const r of records) pipeline.feed(r);
  pipeline.finish();
  return alerts;
}

export interface ExpectedVerdict {
  readonly detector: string;
  readonly subjectId?: string;
  readonly reasonCodes?: readonly string[];
}

export function spec(thresholds: Partial<Thresholds> = {}) {
  const t = { ...defaultThresholds, ...thresholds };
  return {
    given: (...history: SpecRecord[]) => ({
      when: (...events: SpecRecord[]) => {
        const before = new Set(run(history, t).map((a) => a.alertId));
        const added = run([...history, ...events], t).filter((a) => !before.has(a.alertId));
        return {
          alerts: added,
          then(...expected: ExpectedVerdict[]) {
            for (const e of expected) {
              const match = added.find((a) => a.detector === e.detector && (e.subjectId === undefined || a.subjectId === e.subjectId)
                && (e.reasonCodes === undefined || e.reasonCodes.every((r) => a.reasonCodes.includes(r))));
              expect(match, `expected ${JSON.stringify(e)} among ${JSON.stringify(added.map((a) => [a.detector, a.subjectId, a.reasonCodes]))}`).toBeDefined();
            }
            return added;
          },
          thenNothingFrom(detector: string) {
            expect(added.filter((a) => a.detector === detector).map((a) => a.explanation)).toEqual([]);
          },
        };
      },
    }),
  };
}

import { describe, expect, it } from 'vitest';
import type { Decision, FraudAlert } from '../../services/core/records.ts';
import { restoreSnapshot, takeSnapshot } from '../../services/detectors/kernel/snapshot.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { defaultGeneratorOptions, generateStream, type StreamRecord } from '../../services/generator/stream.ts';
import { ReplayPipeline } from '../../services/replay/replay-pipeline.ts';

const stream = generateStream({ ...defaultGeneratorOptions, seed: 7, days: 20, cards: 1500, merchants: 120 });
const fed = (pipeline: ReplayPipeline, records: readonly StreamRecord[]) => {
  for (const r of records) if (r.type !== 'malformed') pipeline.feed({ ok: true, kind: r.type, record: r.record } as Parameters<ReplayPipeline['feed']>[0]);
};
const ids = (alerts: readonly FraudAlert[]) => alerts.map((a) => JSON.stringify(a));

describe('a snapshot of the detection state', () => {
  it('restored into a fresh pipeline mid-stream, raises exactly the alerts of an uninterrupted run, and leaves its source unchanged', () => {
    const uninterrupted: FraudAlert[] = [];
    const reference = new ReplayPipeline(defaultThresholds, 3, (a) => uninterrupted.push(a));
    fed(reference, stream.records);
    reference.finish();

    const half = Math.floor(stream.records.length / 2);
    const before: FraudAlert[] = [];
    const source = new ReplayPipeline(defaultThresholds, 3, (a) => before.push(a));
    fed(source, stream.records.slice(0, half));
    const snapshot = takeSnapshot(source);

    const after: FraudAlert[] = [];
    const restored = new ReplayPipeline(defaultThresholds, 3, (a) => after.push(a));
    restoreSnapshot(restored, snapshot);
    fed(restored, stream.records.slice(half));
    restored.finish();

    // The source goes on as if nothing had happened: the snapshot took nothing from it.
    const sourceAfter: FraudAlert[] = [];
    const sourceOut = before.length;
    fed(source, stream.records.slice(half));
    source.finish();
    sourceAfter.push(...before.slice(sourceOut));

    expect(uninterrupted.length).toBeGreaterThan(20);
    expect(ids([...before.slice(0, sourceOut), ...after])).toEqual(ids(uninterrupted));
    expect(ids(before)).toEqual(ids(uninterrupted));
    expect(restored.counts.authorisation).toBe(reference.counts.authorisation);
  });
});

describe('a snapshot of the decision state', () => {
  it('restored mid-stream, gives exactly the decisions of an uninterrupted run, the learning model\'s included', () => {
    // Labels mature within the stream, so that the model has learned by the time of the snapshot.
    const thresholds = Object.freeze({ ...defaultThresholds, decisionLabelMaturityDays: 3 });
    const run = (records: readonly StreamRecord[], decisions: string[], from?: ReplayPipeline) => {
      const pipeline = new ReplayPipeline(thresholds, 3, () => undefined, (d: Decision) => decisions.push(JSON.stringify(d)));
      if (from !== undefined) restoreSnapshot(pipeline, takeSnapshot(from));
      fed(pipeline, records);
      return pipeline;
    };
    const uninterrupted: string[] = [];
    run(stream.records, uninterrupted).finish();
    const half = Math.floor(stream.records.length / 2);
    const before: string[] = [];
    const source = run(stream.records.slice(0, half), before);
    const after: string[] = [];
    run(stream.records.slice(half), after, source).finish();
    expect([...before, ...after]).toEqual(uninterrupted);
    expect((JSON.parse(after.at(-1)!) as Decision).measurements.modelLearned).toBeGreaterThan(1000);
  });
});

describe('a snapshot restored under other thresholds', () => {
  it('keeps the thresholds the restoring version was started with: they are configuration, not state', () => {
    const source = new ReplayPipeline(defaultThresholds, 3, () => {});
    fed(source, stream.records.slice(0, 2000));
    const changed = Object.freeze({ ...defaultThresholds, maxSpeedKmh: defaultThresholds.maxSpeedKmh * 2 });
    const restored = new ReplayPipeline(changed, 3, () => {});
    restoreSnapshot(restored, takeSnapshot(source));
    const card = (restored as unknown as { engine: { card: { thresholds: typeof changed } } }).engine.card;
    expect(card.thresholds.maxSpeedKmh).toBe(changed.maxSpeedKmh);
  });
});

/**
 * The detector stages' state layout is kept beside the code (services/detectors/state-layout.txt),
 * headed by the `detectorStateVersion` it belongs to. A snapshot is grafted field by field onto
 * freshly built detectors, so a field added, renamed or reshaped must change the version (older
 * snapshots are then passed over and the task rebuilt from its input): this test fails until the
 * file and the version say so. `UPDATE_STATE_LAYOUT=1 npx vitest run test/detectors/state-layout.unit.test.ts`
 * rewrites the file; its diff shows the change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyPartitioner } from '../../services/core/transport/key-partition.ts';
import { DetectionEngine } from '../../services/detectors/engine.ts';
import { authorisationInput, outcomeInput } from '../../services/detectors/inputs.ts';
import { detectorStateVersion } from '../../services/detectors/kernel/snapshot.ts';
import { stateLayout } from '../../services/detectors/kernel/state-layout.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { ProfileTables, enrich } from '../../services/enricher/enrich.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';

const layoutFile = new URL('../../services/detectors/state-layout.txt', import.meta.url);

/** The four stages' processors after a stream that fills every kind of state. */
function stagesAfterAStream(): object[] {
  const engine = new DetectionEngine(defaultThresholds, keyPartitioner(3), () => {});
  const tables = new ProfileTables();
  for (const r of generateStream({ ...defaultGeneratorOptions, seed: 7, days: 20, cards: 1500, merchants: 120 }).records) {
    if (r.type === 'merchant') tables.putMerchant(r.record);
    else if (r.type === 'terminal') tables.putTerminal(r.record);
    else if (r.type === 'authorisation') engine.push(authorisationInput(enrich(tables, r.record)));
    else if (r.type === 'outcome') engine.push(outcomeInput(r.record));
  }
  const stages = engine as unknown as Record<'card' | 'terminal' | 'merchant' | 'arbiter', object>;
  return [stages.card, stages.terminal, stages.merchant, stages.arbiter];
}

describe('the detector stages\' state layout', () => {
  it('is the one recorded for the current detectorStateVersion', () => {
    const current = `# ${detectorStateVersion}\n${stateLayout(stagesAfterAStream(), new Map([[defaultThresholds, 'Thresholds']]))}`;
    if (process.env.UPDATE_STATE_LAYOUT === '1') writeFileSync(layoutFile, current);
    const recorded = readFileSync(layoutFile, 'utf8');
    const recordedVersion = recorded.slice(2, recorded.indexOf('\n'));
    if (recordedVersion === detectorStateVersion) {
      expect(current, 'the state layout changed: change detectorStateVersion (kernel/snapshot.ts), then rewrite state-layout.txt (see this file\'s comment)').toBe(recorded);
    } else {
      expect.fail(`state-layout.txt records ${recordedVersion}, the code is ${detectorStateVersion}: rewrite it (see this file's comment)`);
    }
  });

  it('tells a field added, removed or reshaped from the same layout', () => {
    class Window { entries = new Map([['k', { time: 1, amount: 2 }]]); count = 0; }
    const base = stateLayout([new Window()]);
    expect(stateLayout([new Window()])).toBe(base);
    expect(stateLayout([Object.assign(new Window(), { extra: 1 })])).not.toBe(base);
    expect(stateLayout([Object.assign(new Window(), { entries: new Map([['k', { time: 1 }]]) })])).not.toBe(base);
    expect(stateLayout([Object.assign(new Window(), { count: [1] })])).not.toBe(base);
  });
});

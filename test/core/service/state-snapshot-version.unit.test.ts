/**
 * A state snapshot is restored only into state of the shape it was taken from: after an upgrade
 * that changed the detectors' state, the old snapshots are passed over and the tasks rebuilt from
 * their input, rather than grafted onto classes whose new fields they lack.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { SnapshotStore } from '../../../services/core/service/state-snapshots.ts';
import { createInProcessTransport } from '../../../services/core/transport/in-process/in-process-log.ts';

const logger = createLogger({ level: 'silent' });
const positions = [{ topic: 'in', partition: 0, offset: 42 }];

describe('state snapshots across state versions', () => {
  it('restores a snapshot of its own version, and passes over one of another version', async () => {
    const transport = createInProcessTransport();
    const written = new SnapshotStore(transport, 'group', 'state-1', logger);
    await written.ensureTopic();
    await written.write(Buffer.from('the state'), 'task-0', positions);
    await written.close();

    const same = new SnapshotStore(transport, 'group', 'state-1', logger);
    const { found: sameFound } = await same.load(['task-0'], new AbortController().signal);
    const upgraded = new SnapshotStore(transport, 'group', 'state-2', logger);
    const { found: upgradedFound } = await upgraded.load(['task-0'], new AbortController().signal);

    expect(sameFound.get('task-0')?.state.toString()).toBe('the state');
    expect(sameFound.get('task-0')?.manifest.stateVersion).toBe('state-1');
    expect(upgradedFound.has('task-0')).toBe(false);
  });
});

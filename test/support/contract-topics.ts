/**
 * The contract topics (`auth.requests.v1` …) have fixed names, and the services' groups fixed ids:
 * test files that run the real services share them on the one test broker. Such a file holds this
 * lock for its whole run (other files go on in parallel) and starts from deleted topics.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '../../services/core/transport/port.ts';
import { deletePipelineState } from '../../services/pipeline/reset.ts';
import { waitFor } from './wait.ts';

const lock = join(tmpdir(), 'posguard-test-contract-topics.lock');

/** Waits for the lock (taking over one older than an hour: its holder died), then deletes the topics and the services' groups. */
export async function claimContractTopics(kafka: Transport, brokers: string): Promise<() => void> {
  await waitFor('the contract topics to be free (another test file runs the services)', () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      const takenAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (takenAt !== undefined && Date.now() - takenAt > 3_600_000) rmSync(lock, { recursive: true, force: true });
      return false;
    }
  }, 1_800_000);
  const release = () => rmSync(lock, { recursive: true, force: true });
  try {
    await deletePipelineState(kafka, brokers.split(','));
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

/**
 * A bounded run always ends: over streams of several shapes (short and long, few and many cards,
 * outcomes on some partitions only), the embedded pipeline drains, every stage settles, and no
 * stage waits for an input that has nothing more to give. A stage's checkpoint is committed with
 * every input's offset: a 12-day stream once left an outcome partition's last commit saying
 * "pending" after its task had released everything, and the stages downstream waited forever.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform } from '../../services/pipeline/platform.ts';

const shapes = [
  { seed: 9090, cards: 1000, merchants: 80, days: 12 },
  { seed: 11, cards: 400, merchants: 60, days: 3 },
  { seed: 12, cards: 1500, merchants: 100, days: 10 },
  { seed: 13, cards: 600, merchants: 200, days: 25 },
];

describe('a bounded run over streams of several shapes', () => {
  for (const shape of shapes) {
    it(`drains: seed ${shape.seed}, ${shape.cards} cards, ${shape.merchants} merchants, ${shape.days} days`, async () => {
      const stream = generateStream({ ...defaultGeneratorOptions, ...shape });
      const logger = createLogger({ level: 'silent', name: 'drain-shapes' });
      const config = loadConfig({});
      const platform = await connectPlatform(config, logger);
      const pipeline = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds });
      try {
        await produceStream(stream.records, await platform.transport.producer(), platform.serdes);
        await waitForDrain(platform.transport, pipeline, { timeoutMs: 45_000 });
        expect(pipeline.stages.every((s) => s.settled())).toBe(true);
      } finally {
        await pipeline.stop();
        await platform.transport.close();
      }
    }, 90_000);
  }
});

/**
 * The topology is declared once (services/topology/topology.ts) and everything else derives from
 * it: these tests pin what the derivations give, and check against a real embedded run that the
 * stages started are the declared ones, reading and writing exactly the declared topics.
 */
import { describe, expect, it } from 'vitest';
import { topicContracts, topics, internalTopics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform } from '../../services/pipeline/platform.ts';
import { describeTopology } from '../../services/topology/describe.ts';
import {
  consumerGroups, groupOf, markedOutputsOf, markerWritersOf, topology, transactionalWritersOf, upstreamGroupsOf, writersOf,
} from '../../services/topology/topology.ts';

describe('the declared topology', () => {
  it('uses every contract topic, and only contract topics', () => {
    const used = new Set(topology.flatMap((s) => [...s.inputs, ...(s.tables ?? []), ...s.outputs.map((o) => o.topic)]));
    expect([...used].sort()).toEqual(topicContracts.map((c) => c.topic).sort());
  });

  it('gives every topic a reader, and every topic no stage writes is one acquirers (or their analysts, through the alert actions API) write', () => {
    for (const { topic } of topicContracts) {
      expect(topology.some((s) => s.inputs.includes(topic) || s.tables?.includes(topic)), topic).toBe(true);
    }
    const sources = topicContracts.map((c) => c.topic).filter((t) => writersOf(t).length === 0).sort();
    expect(sources).toEqual([topics.authorisations, topics.cardOutcomes, topics.merchantProfiles, topics.terminalProfiles, topics.alertActions].sort());
  });

  it('derives each detector input\'s upstream groups through the stages that feed it', () => {
    expect(upstreamGroupsOf(topics.enrichedAuthorisations)).toEqual(['posguard.enricher']);
    expect(upstreamGroupsOf(topics.cardOutcomes)).toEqual([]);
    expect(upstreamGroupsOf(internalTopics.byTerminal)).toEqual(['posguard.enricher', 'posguard.detectors.card']);
    expect(upstreamGroupsOf(internalTopics.clusters)).toEqual(['posguard.enricher', 'posguard.detectors.card', 'posguard.detectors.merchant']);
  });

  it('counts the transactional writers of one partition from how each stage spreads its output', () => {
    const p = 4;
    expect(transactionalWritersOf(topics.enrichedAuthorisations, p)).toBe(1);
    expect(transactionalWritersOf(internalTopics.byMerchant, p)).toBe(p);
    expect(transactionalWritersOf(internalTopics.clusters, p)).toBe(p);
    // card, terminal and merchant tasks, and the one arbiter task (its topic has one partition).
    expect(transactionalWritersOf(topics.fraudAlerts, p)).toBe(3 * p + 1);
    // ... and the enricher's; the sink's dead letters are not transactional.
    expect(transactionalWritersOf(topics.deadLetters, p)).toBe(4 * p + 1);
    expect(transactionalWritersOf(topics.authorisations, p)).toBe(0);
  });

  it('names the watermark writers a repartitioned input waits for, and the topics a stage marks', () => {
    expect(markerWritersOf(internalTopics.byTerminal, 2)).toEqual(['card:0', 'card:1']);
    expect(markerWritersOf(internalTopics.clusters, 3)).toEqual(['merchant:0', 'merchant:1', 'merchant:2']);
    expect(markerWritersOf(topics.enrichedAuthorisations, 3)).toEqual([]);
    expect(markedOutputsOf('merchant', 3)).toEqual([{ topic: internalTopics.clusters, partitions: 1 }]);
    expect(markedOutputsOf('card', 3).map((o) => o.partitions)).toEqual([3, 3]);
  });

  it('prints every stage, its group and its topics', () => {
    const text = describeTopology(3);
    for (const s of topology) {
      expect(text).toContain(`Stage ${s.name} `);
      expect(text).toContain(s.group);
      for (const t of s.inputs) expect(text).toContain(`<- ${t} `);
    }
  });

  it('is what the embedded pipeline runs: the declared stages, committing on their declared inputs, writing only declared outputs', async () => {
    const stream = generateStream({ ...defaultGeneratorOptions, seed: 21, cards: 300, merchants: 40, days: 3 });
    const logger = createLogger({ level: 'silent', name: 'topology' });
    const config = loadConfig({});
    const platform = await connectPlatform(config, logger);
    const metrics = createMetrics({ defaultMetrics: false });
    const pipeline = await startPipeline({ platform, config, logger, metrics, thresholds: defaultThresholds });
    try {
      await produceStream(stream.records, await platform.transport.producer(), platform.serdes);
      await waitForDrain(platform.transport, pipeline, { timeoutMs: 45_000 });
      // Every alert on the topic counted once by detector and severity; every detector task's watermark delay known.
      const alertsOnTopic = (await platform.transport.admin.endOffsets(topics.fraudAlerts)).reduce((n, p) => n + p.offset, 0);
      expect(alertsOnTopic).toBeGreaterThan(0);
      expect((await metrics.get('posguard_alerts_total').get()).values.reduce((n, v) => n + v.value, 0)).toBe(alertsOnTopic);
      // Every decision on the topic counted once by decision, and its delay observed.
      const decisionsOnTopic = (await platform.transport.admin.endOffsets(topics.decisions)).reduce((n, p) => n + p.offset, 0);
      expect(decisionsOnTopic).toBeGreaterThan(0);
      expect((await metrics.get('posguard_decisions_total').get()).values.reduce((n, v) => n + v.value, 0)).toBe(decisionsOnTopic);
      expect((await metrics.get('posguard_decision_delay_seconds').get()).values.find((v) => v.metricName === 'posguard_decision_delay_seconds_count')?.value).toBe(decisionsOnTopic);
      // Every alert's delay observed under its detector: a generated stream of the past, so each is days long.
      const alertDelays = (await metrics.get('posguard_alert_delay_seconds').get()).values.filter((v) => v.metricName === 'posguard_alert_delay_seconds_count');
      expect(alertDelays.reduce((n, v) => n + v.value, 0)).toBe(alertsOnTopic);
      expect((await metrics.get('posguard_alert_delay_seconds').get()).values.find((v) => v.metricName === 'posguard_alert_delay_seconds_sum')!.value / alertsOnTopic).toBeGreaterThan(86_400);
      const delays = (await metrics.get('posguard_watermark_delay_seconds').get()).values;
      expect(new Set(delays.map((v) => v.labels.group))).toEqual(new Set(topology.filter((s) => s.eventTime).map((s) => s.group)));
      // Every detector task's state size known; the card stage holds cards.
      const keys = (await metrics.get('posguard_state_keys').get()).values;
      expect(new Set(keys.map((v) => v.labels.group))).toEqual(new Set(topology.filter((s) => s.eventTime).map((s) => s.group)));
      expect(keys.filter((v) => v.labels.group === groupOf('card')).reduce((n, v) => n + v.value, 0)).toBeGreaterThan(100);
      // Without ClickHouse, every stage but the sink.
      expect(pipeline.stages).toHaveLength(topology.filter((s) => s.service !== 'sink').length);
      const { admin } = platform.transport;
      for (const s of topology.filter((d) => d.service !== 'sink')) {
        for (const { topic } of topicContracts) {
          const committed = (await admin.committedOffsets(s.group, topic)).some((c) => c.offset > 0);
          expect(committed, `${s.group} on ${topic}`).toBe(s.inputs.includes(topic) && (await admin.endOffsets(topic)).some((e) => e.offset > 0));
        }
      }
      for (const { topic } of topicContracts) {
        const written = (await admin.endOffsets(topic)).some((e) => e.offset > 0);
        // Every stage output that is not a dead letter is written on this stream.
        if (topology.some((s) => s.service !== 'sink' && s.outputs.some((o) => o.topic === topic)) && topic !== topics.deadLetters) {
          expect(written, topic).toBe(true);
        }
      }
      // A stage writing a topic nobody declared would show it here.
      const declaredTopics = new Set<string>(topicContracts.map((c) => c.topic));
      expect((await admin.listTopics()).filter((t) => !declaredTopics.has(t))).toEqual([]);
      expect(Object.keys(consumerGroups)).toEqual(pipeline.groups.concat(['posguard.sink']));
    } finally {
      await pipeline.stop();
      await platform.transport.close();
    }
  }, 90_000);
});

/**
 * All services over one platform: enricher, the four detector stages, the sink. Embedded mode runs
 * this in one process over the in-process log; `posguard run <service>` starts one of them alone.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { PosguardConfig } from '../core/config/config.ts';
import type { Logger } from '../core/observability/logging.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import type { RunningStage } from '../core/service/stage-runner.ts';
import { runDetectors } from '../detectors/service.ts';
import type { Thresholds } from '../detectors/thresholds.ts';
import { runEnricher } from '../enricher/service.ts';
import { runSink, type RunningSink } from '../sink/service.ts';
import { consumerGroups, groupOf, topology, type ServiceName } from '../topology/topology.ts';
import { upstreamCaughtUp } from './drain.ts';
import type { Platform } from './platform.ts';

export interface RunningPipeline {
  readonly stages: readonly RunningStage[];
  /** Absent when started without ClickHouse. */
  readonly sink: RunningSink | undefined;
  /** The consumer groups running, for draining. */
  readonly groups: readonly string[];
  stop(): Promise<void>;
}

/** Detector state snapshots are for the distributed mode: the in-process log dies with the process. */
export const snapshotIntervalOf = (config: Pick<PosguardConfig, 'runMode' | 'snapshotIntervalMs'>): number | undefined =>
  config.runMode === 'distributed' && config.snapshotIntervalMs > 0 ? config.snapshotIntervalMs : undefined;

/** Starts every service of the topology, in its order; without `clickhouse`, everything but the sink. */
export async function startPipeline(deps: {
  platform: Platform; config: PosguardConfig; logger: Logger; metrics: Metrics; thresholds: Thresholds; clickhouse?: ClickHouseClient;
}): Promise<RunningPipeline> {
  const { platform, config, logger, metrics } = deps;
  const common = { transport: platform.transport, serdes: platform.serdes, metrics, instanceId: config.instanceId, partitionIdleMs: config.partitionIdleMs };
  // Embedded, the pipeline is fed recordings (the demo's generated stream): their times are their own.
  const eventTimeMaxAheadMs = config.runMode === 'embedded' ? undefined : config.eventTimeMaxAheadMs;
  let sink: RunningSink | undefined;
  // One starter per service the topology names: a service declared there and not here does not compile.
  const starters: Record<ServiceName, () => Promise<RunningStage[]>> = {
    enricher: async () => [await runEnricher({ ...common, logger: logger.child({ service: 'enricher' }), eventTimeMaxAheadMs })],
    detectors: () => runDetectors({ ...common, service: 'detectors', logger: logger.child({ service: 'detectors' }), thresholds: deps.thresholds, decisionPolicies: config.decisionPolicies, partitions: config.partitions,
      upstreamCaughtUp: upstreamCaughtUp(platform.transport), snapshotIntervalMs: snapshotIntervalOf(config) }),
    sink: async () => {
      if (deps.clickhouse === undefined) return [];
      sink = await runSink({
        ...common, logger: logger.child({ service: 'sink' }), clickhouse: deps.clickhouse, database: config.clickhouseDatabase,
        batchRecords: config.sinkBatchRecords, flushMs: config.sinkFlushMs, eventTimeMaxAheadMs,
      });
      return [];
    },
  };
  const stages: RunningStage[] = [];
  for (const service of new Set(topology.map((s) => s.service))) stages.push(...await starters[service]());
  return {
    stages,
    sink,
    groups: Object.keys(consumerGroups).filter((g) => sink !== undefined || g !== groupOf('sink')),
    async stop() {
      for (const stage of stages) await stage.stop();
      await sink?.stop();
    },
  };
}

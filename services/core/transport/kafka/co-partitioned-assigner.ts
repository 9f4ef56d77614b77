/**
 * A kafkajs partition assigner that keeps a stage's tasks whole: partition p of every topic the
 * group reads goes to the same member. The card stage joins auth.enriched.v1 and card.outcomes.v1
 * by card, and its task p holds the state of the cards in partition p of both; kafkajs's
 * round-robin assigner would split a task's partitions over members. Members are taken in id
 * order and partition numbers dealt to them in turn (Kafka Streams assigns tasks the same way,
 * by partition number across co-partitioned topics).
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'PosguardCoPartitioned',
  version: 1,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of topics) {
      const partitions = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId).sort((a, b) => a - b);
      for (const partition of partitions) {
        const owner = assignment.get(memberIds[partition % memberIds.length]!)!;
        (owner[topic] ??= []).push(partition);
      }
    }
    return [...assignment].map(([memberId, byTopic]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: byTopic, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'PosguardCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});

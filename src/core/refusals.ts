// Why a transition was refused, told from the task's current state after the atomic update matched nothing.
import { ConflictError, NotFoundError, type AthenaError } from '../errors.js';
import type { TransitionSpec } from './ports.js';
import type { Task } from './types.js';

export function refusalError(spec: TransitionSpec, current: Task | null, heldByInstance: number | undefined, verb: string, heldBack?: string): AthenaError {
  const id = spec.taskId;
  if (!current) return new NotFoundError(`Task #${id} not found`, { taskId: id });
  if (!spec.from.includes(current.status)) {
    const code = spec.from.length === 1 && spec.from[0] === 'pending' ? 'NOT_PENDING' : 'CONFLICT';
    return new ConflictError(code, `Cannot ${verb} task #${id}: it is ${current.status}`, { taskId: id, status: current.status });
  }
  if (spec.leaseToken !== undefined || spec.instanceId !== undefined) {
    const holder = current.instanceName ?? current.instanceId;
    if (spec.instanceId !== undefined && current.instanceId !== spec.instanceId) {
      return new ConflictError('LEASE_MISMATCH', `Cannot ${verb} task #${id}: it is held by ${holder ?? 'nobody'}, not ${spec.instanceId}`, { taskId: id });
    }
    if (spec.leaseToken !== undefined) {
      return new ConflictError(
        'LEASE_MISMATCH',
        `Cannot ${verb} task #${id}: the lease token is stale (the lease expired and the task was requeued or claimed by another agent)`,
        { taskId: id },
      );
    }
  }
  if (spec.assignableTo !== undefined && current.assignee !== null && current.assignee !== spec.assignableTo) {
    return new ConflictError('ASSIGNED', `Cannot ${verb} task #${id}: it is assigned to ${current.assignee}`, { taskId: id, assignee: current.assignee });
  }
  if (spec.wipLimit && (heldByInstance ?? 0) >= spec.wipLimit.max) {
    return new ConflictError('WIP_LIMIT', `Instance ${spec.wipLimit.instanceId} already holds ${heldByInstance} task(s) (limit ${spec.wipLimit.max}); finish one first`, { limit: spec.wipLimit.max });
  }
  if (spec.claimable && heldBack) {
    return new ConflictError('NOT_CLAIMABLE', `Cannot ${verb} task #${id}: ${heldBack}`, { taskId: id, heldBack });
  }
  if (spec.claimable) {
    const waiting = current.runAfter > spec.now ? `it is scheduled for ${new Date(current.runAfter).toISOString()}` : 'its dependencies are not all completed';
    return new ConflictError('NOT_CLAIMABLE', `Cannot ${verb} task #${id}: ${waiting}`, { taskId: id, dependsOn: current.dependsOn, runAfter: current.runAfter });
  }
  return new ConflictError('CONFLICT', `Cannot ${verb} task #${id} right now; it changed concurrently, try again`, { taskId: id });
}

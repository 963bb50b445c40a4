import { describe, expect, it } from 'vitest';
import { ExclusiveGate } from '../../src/telemetry/profiling/exclusive-gate';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('ExclusiveGate', () => {
  it('lets shared work overlap', async () => {
    const gate = new ExclusiveGate();
    const first = deferred();
    const second = deferred();
    const runs = [gate.shared(() => first.promise), gate.shared(() => second.promise)];
    await tick();
    expect(gate.running).toEqual({ shared: 2, exclusive: false });
    first.resolve();
    second.resolve();
    await Promise.all(runs);
    expect(gate.running).toEqual({ shared: 0, exclusive: false });
  });

  it('runs exclusive work alone: after running shared work, before later shared work', async () => {
    const gate = new ExclusiveGate();
    const events: string[] = [];
    const sharedBefore = deferred();
    const exclusiveWork = deferred();
    const before = gate.shared(async () => {
      events.push('shared-before start');
      await sharedBefore.promise;
      events.push('shared-before end');
    });
    const exclusive = gate.exclusive(async () => {
      events.push(`exclusive start (shared running: ${gate.running.shared})`);
      await exclusiveWork.promise;
      events.push('exclusive end');
    });
    const after = gate.shared(async () => {
      events.push(`shared-after start (exclusive: ${gate.running.exclusive})`);
    });
    await tick();
    expect(events).toEqual(['shared-before start']);
    sharedBefore.resolve();
    await tick();
    expect(events).toEqual(['shared-before start', 'shared-before end', 'exclusive start (shared running: 0)']);
    exclusiveWork.resolve();
    await Promise.all([before, exclusive, after]);
    expect(events.slice(3)).toEqual(['exclusive end', 'shared-after start (exclusive: false)']);
  });

  it('releases the gate when work throws', async () => {
    const gate = new ExclusiveGate();
    await expect(gate.exclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.shared(async () => 'ran')).resolves.toBe('ran');
  });
});

import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter, Recorder } from '../src/index.js';

type Doc = { name: string; id: string; subsegments?: Doc[] };

describe('imperative API (beginSegment / beginSubsegment)', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeEach(() => {
    diag.reset();
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'imp', EMITTER: emitter, SAMPLING: false, LOGGER: false });
  });
  afterEach(() => recorder.shutdown());

  it('should not leave a begun subsegment current in the caller after `await job()`, in a request', async () => {
    const job = async (): Promise<void> => {
      const sub = recorder.beginSubsegment('job');
      await sleep(2);
      sub.close();
    };
    const request = recorder.beginRequestSegment({ method: 'GET', path: '/' })!;
    await recorder.runWith(request, async () => {
      await job();
      expect(recorder.currentEntity()).toBe(request);
      await recorder.capture('next', () => sleep(1));
    });
    request.close();
    const doc = emitter.documents[0] as unknown as Doc;
    expect(doc.subsegments!.map((s) => [s.name, s.subsegments?.length ?? 0])).toEqual([
      ['job', 0],
      ['next', 0],
    ]);
  });

  it('should not leave a begun segment current after `await startup()`, at start-up', async () => {
    const startup = async (): Promise<void> => {
      const segment = recorder.beginSegment('boot');
      await recorder.runWith(segment, () => recorder.capture('load', () => sleep(2)));
      segment.close();
    };
    await startup();
    expect(recorder.activeEntity()).toBeUndefined();
    // Later work outside any segment is context-missing, not nested into the finished trace.
    recorder.capture('later', () => {});
    expect(recorder.stats().problems.context_missing).toBe(1);
    expect(emitter.documents).toHaveLength(1);
    expect((emitter.documents[0] as unknown as Doc).subsegments!.map((s) => s.name)).toEqual(['load']);
  });

  it('should nest under a begun entity only through runWith, and end what it is given', async () => {
    const segment = recorder.beginSegment('manual');
    const outer = recorder.beginSubsegment('outer', { parent: segment });
    await recorder.runWith(outer, async () => {
      await sleep(1);
      const inner = recorder.beginSubsegment('inner');
      expect(inner.parent).toBe(outer);
      await sleep(1);
      recorder.endSubsegment(inner);
    });
    recorder.endSubsegment(outer);
    recorder.endSegment(segment);
    const doc = emitter.documents[0] as unknown as Doc;
    expect(doc).toMatchObject({ name: 'manual', subsegments: [{ name: 'outer', subsegments: [{ name: 'inner' }] }] });
  });
});

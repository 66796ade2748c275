import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from '@jest/globals';

import { InMemoryEmitter, Recorder, type Subsegment } from '../src/index.js';
import { validateSegmentDocument } from './support/conformance.js';

type Doc = {
  name: string;
  id: string;
  type?: string;
  trace_id?: string;
  parent_id?: string;
  in_progress: boolean;
  subsegments?: Doc[];
};

/** Every entity in the documents, with the id of the document it came in and its parent's id. */
function flatten(docs: Doc[]): { id: string; name: string; parent: string | undefined; traceId: string | undefined; inProgress: boolean }[] {
  const out: { id: string; name: string; parent: string | undefined; traceId: string | undefined; inProgress: boolean }[] = [];
  const walk = (doc: Doc, parent: string | undefined, traceId: string | undefined) => {
    out.push({ id: doc.id, name: doc.name, parent, traceId, inProgress: doc.in_progress });
    for (const child of doc.subsegments ?? []) walk(child, doc.id, traceId);
  };
  for (const doc of docs) walk(doc, doc.type === 'subsegment' ? doc.parent_id : undefined, doc.trace_id);
  return out;
}

describe('DocumentWriter', () => {
  let recorder: Recorder;
  afterEach(() => recorder.shutdown());

  function make(threshold: number): InMemoryEmitter {
    const emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'w', EMITTER: emitter, SAMPLING: false, LOGGER: false, STREAMING_THRESHOLD: threshold });
    return emitter;
  }

  /**
   * A subsegment that closes while work it started goes on (a promise chain and a timer): the late
   * children begin under it after it closed, and after it was streamed when the threshold is low.
   */
  async function lateChildren(): Promise<{ traceId: string; parentId: string }> {
    let traceId = '';
    let parentId = '';
    let late: Promise<void> = Promise.resolve();
    await recorder.captureSegment('job', async (segment) => {
      traceId = segment.trace_id;
      for (let i = 0; i < 3; i++) recorder.capture(`filler-${i}`, () => {});
      recorder.capture('parent', (parent: Subsegment) => {
        parentId = parent.id;
        late = (async () => {
          await sleep(5);
          await recorder.capture('late-child', async () => {
            await recorder.capture('late-grandchild', () => sleep(1));
          });
        })();
      });
      // Subsegments that close after 'parent' make the writer stream it (threshold 2).
      for (let i = 3; i < 6; i++) recorder.capture(`filler-${i}`, () => {});
      await late;
    });
    return { traceId, parentId };
  }

  it.each([2, 100])('should send a child begun under a subsegment that already closed, threshold %i', async (threshold) => {
    const emitter = make(threshold);
    const { traceId, parentId } = await lateChildren();
    const docs = emitter.documents as unknown as Doc[];
    for (const doc of docs) expect(validateSegmentDocument(doc)).toEqual({ valid: true, errors: null });
    const entities = flatten(docs);
    const child = entities.find((e) => e.name === 'late-child');
    expect(child).toMatchObject({ parent: parentId, traceId, inProgress: false });
    expect(entities.find((e) => e.name === 'late-grandchild')).toMatchObject({ parent: child!.id, traceId, inProgress: false });
    // Nothing is sent twice.
    const ids = entities.filter((e) => !e.inProgress).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(1 + 6 + 1 + 2);
    expect(recorder.stats().writer!.failed).toBe(0);
  });

  it('should send a child begun under a streamed subsegment alone, with its parent and trace ids', async () => {
    const emitter = make(2);
    const { traceId, parentId } = await lateChildren();
    const alone = (emitter.documents as unknown as Doc[]).find((d) => d.name === 'late-child');
    expect(alone).toMatchObject({ type: 'subsegment', trace_id: traceId, parent_id: parentId, subsegments: [{ name: 'late-grandchild' }] });
    expect(recorder.stats().writer!.subsegmentsAfterParent).toBe(1);
    expect(recorder.stats().writer!.subsegmentsStreamed).toBeGreaterThan(0);
  });

  it('should send a subsegment open at the segment close in progress, then once complete', async () => {
    const emitter = make(100);
    let release!: () => void;
    let slow: Promise<void> = Promise.resolve();
    const segment = recorder.captureSegment('request', () => {
      slow = recorder.capture('slow', async () => {
        recorder.capture('done-early', () => {});
        await new Promise<void>((resolve) => (release = resolve));
        recorder.capture('done-late', () => {});
      });
      return recorder.currentSegment()!;
    });
    const first = emitter.documents[0] as unknown as Doc;
    expect(first).toMatchObject({ id: segment.id, in_progress: false, subsegments: [{ name: 'slow', in_progress: true, subsegments: [{ name: 'done-early' }] }] });
    release();
    await slow;
    const second = emitter.documents[1] as unknown as Doc;
    // The final document of 'slow' holds all its children, so it can replace the in-progress one.
    expect(second).toMatchObject({ name: 'slow', type: 'subsegment', parent_id: segment.id, in_progress: false });
    expect(second.subsegments!.map((s) => s.name)).toEqual(['done-early', 'done-late']);
    expect(emitter.documents).toHaveLength(2);
  });

  it('should let go of what it sent (nothing held once a segment and its subsegments closed)', () => {
    make(2);
    let seg!: ReturnType<Recorder['beginSegment']>;
    recorder.captureSegment('big', (s) => {
      seg = s;
      for (let i = 0; i < 50; i++) recorder.capture(`s${i}`, () => recorder.capture('inner', () => {}));
    });
    expect(seg.subsegments).toBeUndefined();
    expect(seg.final).toBe(true);
  });
});

/**
 * Op graphs: the ops a function submits to one device, recorded once and replayed as a unit
 * (native/core/op_graph.h). A replay runs the same ops on the same buffers with the same scalar
 * arguments; what changes between replays must be data in device tensors the graph reads, written
 * before each replay with {@link upload}. While a capture is open, host data cannot enter it: making
 * a tensor from host data, uploading, reading, or copying between devices is an error (it would
 * otherwise be baked into the graph, or silently left out of it).
 *
 * Every tensor the recorded ops touch stays allocated until the graph is disposed, even after its
 * JS handle is disposed: a graph pins its buffers, so a replay never writes memory that has been
 * given to someone else.
 */
import { argError, describe } from './errors';
import { native, NativeTensor } from './native';
import { Tensor } from './tensor';

interface GraphNative {
  graphBegin(device: string): void;
  graphEnd(device: string): object;
  graphReplay(graph: object): void;
  graphDispose(graph: object): void;
  graphOps(graph: object): number;
  upload(dst: NativeTensor, data: Float32Array | Int32Array): void;
}

/** A recorded sequence of ops on one device; see the file comment. */
export class OpGraph {
  readonly device: string;
  private handle: object | null;

  private constructor(device: string, handle: object) {
    this.device = device;
    this.handle = handle;
  }

  /**
   * Runs `fn` (its ops run as usual) while recording every op it submits to `device`; returns the
   * graph and fn's result. If fn throws, the capture is closed, nothing is kept and the error
   * propagates.
   */
  static capture<T>(device: string, fn: () => T): { graph: OpGraph; result: T } {
    const nat = native<GraphNative>();
    nat.graphBegin(device);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      nat.graphDispose(nat.graphEnd(device));
      throw err;
    }
    return { graph: new OpGraph(device, nat.graphEnd(device)), result };
  }

  /** The number of recorded ops (0 once disposed). */
  get opCount(): number {
    return this.handle ? native<GraphNative>().graphOps(this.handle) : 0;
  }

  get disposed(): boolean {
    return this.handle === null;
  }

  /** Queues the recorded ops again, after everything already queued on the device. */
  replay(): void {
    if (!this.handle) throw argError('OpGraph.replay', 'this', 'a live graph', 'a disposed graph');
    native<GraphNative>().graphReplay(this.handle);
  }

  /** Lets go of the recorded ops and of the buffers they pin (once queued replays have run). */
  dispose(): void {
    if (!this.handle) return;
    native<GraphNative>().graphDispose(this.handle);
    this.handle = null;
  }
}

/**
 * Writes host data into an existing tensor in stream order (after every op queued before, before
 * every op queued after): f32 and bf16 tensors take a Float32Array, i32 tensors an Int32Array, of
 * exactly numel elements.
 */
export function upload(dst: Tensor, data: Float32Array | Int32Array): void {
  const op = 'upload';
  if (!(dst instanceof Tensor) || dst.disposed) throw argError(op, 'dst', 'a live Tensor', describe(dst));
  const want = dst.dtype === 'i32' ? Int32Array : Float32Array;
  if (!(data instanceof want)) throw argError(op, 'data', `an ${want.name} (dst is ${dst.dtype})`, describe(data));
  if (data.length !== dst.numel) throw argError(op, 'data', `${dst.numel} elements (dst is [${dst.shape.join(', ')}])`, `${data.length}`);
  native<GraphNative>().upload(dst.handle, data);
}

/**
 * Worker-thread entry: decode (and augment) images into normalised Float32 CHW arrays. Messages in:
 * DecodeTask; out: DecodeResult, with the pixel buffers transferred, not copied.
 */
import { parentPort } from 'node:worker_threads';
import { loadImageTensor } from './image.js';
import { runDecode, type DecodeTask } from './decode.js';

if (parentPort === null) throw new Error('decode-worker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (task: DecodeTask) => {
  void runDecode(task, loadImageTensor).then((res) => {
    port.postMessage(res, res.ok ? res.images.map((a) => a.buffer as ArrayBuffer) : []);
  });
});

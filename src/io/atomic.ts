// Crash-safe file writes: write a temporary sibling, fsync it, rename over the target, fsync the folder.
// A kill at any moment leaves either the old file or the new one, never a torn one.
import { closeSync, fsyncSync, openSync, renameSync, writeSync, rmSync, existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems do not support fsync on directories */
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempSibling(path);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Renames a fully written temporary folder into place (replacing an existing one). */
export function publishDir(tmpDir: string, finalDir: string): void {
  fsyncDir(tmpDir);
  if (existsSync(finalDir)) {
    const old = tempSibling(finalDir);
    renameSync(finalDir, old);
    renameSync(tmpDir, finalDir);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmpDir, finalDir);
  fsyncDir(dirname(finalDir));
}

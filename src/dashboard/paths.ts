// Every path the dashboard touches comes from a request, so each one is resolved here: relative to the
// runs folder, symlinks followed (realpath), and refused unless the result is the runs folder or lies
// inside it. Nothing else in src/dashboard joins a request string onto a path.
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A request named a path outside the runs folder (or an unusable one): the server answers 403. */
export class PathRefusedError extends Error {
  override readonly name = 'PathRefusedError';
}

/** A request named a path inside the runs folder that does not exist: the server answers 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class RunsRoot {
  /** the runs folder, symlinks resolved */
  readonly dir: string;

  constructor(dir: string) {
    if (!existsSync(dir)) throw new Error(`runs folder ${dir} does not exist`);
    this.dir = realpathSync(resolve(dir));
  }

  /** true when `real` (a resolved absolute path) is the root or below it */
  contains(real: string): boolean {
    return real === this.dir || real.startsWith(this.dir + sep);
  }

  /**
   * The real absolute path of `rel` ('/'-separated, relative to the root; '' or '.' is the root itself).
   * Absolute paths, NUL bytes and anything that resolves outside the root (by `..` or by a symlink)
   * throw PathRefusedError; a missing path throws NotFoundError.
   */
  resolve(rel: string): string {
    if (rel.includes('\0')) throw new PathRefusedError('the path holds a NUL byte');
    if (isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.startsWith('\\')) throw new PathRefusedError(`absolute paths are refused: ${rel}`);
    const lexical = resolve(this.dir, rel);
    if (!this.contains(lexical)) throw new PathRefusedError(`${rel} lies outside the runs folder`);
    if (!existsSync(lexical)) throw new NotFoundError(`${rel} does not exist in the runs folder`);
    const real = realpathSync(lexical);
    if (!this.contains(real)) throw new PathRefusedError(`${rel} links outside the runs folder`);
    return real;
  }

  /** The '/'-separated id of a real path inside the root ('.' for the root). */
  idOf(real: string): string {
    const r = relative(this.dir, real);
    return r === '' ? '.' : r.split(sep).join('/');
  }
}

/** A training setting that cannot work (named in the message), or a checkpoint that does not fit the run. */
export class TrainConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainConfigError';
  }
}

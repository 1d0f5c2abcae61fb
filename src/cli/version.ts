// flm's version (io/flm-version.ts).
export { flmVersion } from '../io/flm-version.js';

export { TrainConfigError } from '../config/resolve.js';

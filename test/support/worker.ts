/** The worker for tests: in this process with fast settings, or the real entry point as a child (stack/worker.ts). */
export { configEnv as workerEnv, FAST_WORKER_SETTINGS, spawnWorker, startWorker as startTestWorker } from '../../stack';
export type { WorkerProcess } from '../../stack';

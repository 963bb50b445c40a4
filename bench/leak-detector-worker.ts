/** One thread of bench/leak-detector: runs its seed slice of each scenario and posts the outcomes. */

import { parentPort, workerData } from 'node:worker_threads';
import { runSeeds, SCENARIOS, type WorkerTask } from './leak-scenarios';

const task = workerData as WorkerTask;
const outcomes = task.scenarioNames.map((name) => {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (!scenario) throw new Error(`unknown scenario ${name}`);
  return runSeeds(scenario, task.fromSeed, task.toSeed);
});
parentPort!.postMessage(outcomes);

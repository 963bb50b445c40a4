/** The floor of the house: what crosses the queue and the process boundary, defined once. */
export * from './errors';
export * from './jobs';
export * from './queues';
export * from './trace-carrier';

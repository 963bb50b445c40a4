/** The floor of the house: what crosses the queue and the process boundary, defined once. */
export * from './envelope';
export * from './errors';
export * from './hotspot';
export * from './leak-check';
export * from './plan-finding';
export * from './queues';
export * from './rag-query';
export * from './stage-timing';
export * from './trace-carrier';
export * from './validation';

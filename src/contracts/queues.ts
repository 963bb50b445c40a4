/** Queue names: workers dispatch on these, never on the job name. */
export const QUEUES = {
  ragQuery: 'rag-query',
  leakCheck: 'leak-check',
  /** Ticks of the heap-sampling job scheduler, consumed by `ragscope scheduler` processes only. */
  heapSample: 'heap-sample',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Names ragscope's own producer gives its jobs (foreign producers may use any). */
export const JOB_NAMES = {
  query: 'query',
  leakCheck: 'leak-check',
} as const;

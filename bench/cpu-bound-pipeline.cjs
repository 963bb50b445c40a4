// The pipeline `bench/apm-overhead.ts --job-cpu-ms` runs: a RAG job's shape (four stages, each a
// span) around a fixed amount of CPU work, RAGSCOPE_BENCH_JOB_UNITS units of bench/cpu-work.cjs,
// so ragscope's cost can be measured on jobs of a chosen size instead of only the sample
// pipeline's 3–5 ms. Plain CommonJS on ragscope's public API, as a team would write it.
const { definePipeline } = require('ragscope');
const { burn } = require('./cpu-work.cjs');

/** Each stage's share of the job's work. */
const SHARES = { embed: 0.2, retrieve: 0.3, rerank: 0.4, generate: 0.1 };

module.exports = definePipeline({
  name: 'cpu-bound',
  setup: () => {
    const units = Number(process.env.RAGSCOPE_BENCH_JOB_UNITS);
    if (!Number.isInteger(units) || units < 1) throw new Error(`RAGSCOPE_BENCH_JOB_UNITS must be a positive integer, got "${process.env.RAGSCOPE_BENCH_JOB_UNITS}"`);
    return { units };
  },
  run: async (input, ctx) => {
    let checksum = 0;
    for (const [stage, share] of Object.entries(SHARES)) {
      checksum += await ctx.stage(stage, () => burn(Math.round(ctx.state.units * share)));
    }
    return { answer: `checksum ${checksum.toFixed(3)} for ${input.query.length} characters`, sources: [{ id: 'cpu-bound', score: 1 }] };
  },
});

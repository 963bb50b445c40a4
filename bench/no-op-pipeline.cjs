// The pipeline both sides of bench/queue-throughput run: it does nothing, so what is measured is
// what each worker adds around a job. Plain CommonJS on ragscope's public API, as a team would write it.
const { definePipeline } = require('ragscope');

module.exports = definePipeline({ name: 'no-op', run: () => ({ answer: '', sources: [] }) });

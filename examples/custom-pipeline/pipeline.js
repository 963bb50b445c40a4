// @ts-check
/**
 * A support-FAQ RAG pipeline of its own, written against ragscope's public API only:
 * three stages (retrieve from its own table through ctx.sql, rank, generate), an OpenAI-compatible
 * chat-completions call when LLM_BASE_URL is set (an extractive answer when it is not), and a
 * switch that plants a slow function for the profiler to find.
 *
 * Plain CommonJS, so it runs as it is; a TypeScript pipeline is the same code, built first.
 */
const { definePipeline } = require('ragscope');
const ARTICLES = require('./articles.json');

/** @param {string} text */
function tokenize(text) {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter((term) => term.length > 2);
}

/**
 * @typedef {{ id: string, title: string, body: string }} Article
 * @typedef {Article & { score: number }} Ranked
 */

/** Share of the question's terms an article contains. @param {Article} article @param {string[]} terms */
function termOverlap(article, terms) {
  const words = new Set(tokenize(`${article.title} ${article.body}`));
  return terms.length === 0 ? 0 : terms.filter((term) => words.has(term)).length / terms.length;
}

/** @param {Article[]} articles @param {string[]} terms @returns {Ranked[]} */
function rank(articles, terms) {
  return articles
    .map((article) => ({ ...article, score: Math.round(termOverlap(article, terms) * 1000) / 1000 }))
    .sort((left, right) => right.score - left.score || left.id.localeCompare(right.id));
}

/**
 * The planted slow function (EXAMPLE_PLANT_SLOW=1, or a job with plantBottleneck): it re-hashes
 * every article's text thousands of times before ranking. A profiled job names it, with its line.
 * @param {Article[]} articles @param {string[]} terms @returns {Ranked[]}
 */
function rankWithPlantedSlowness(articles, terms) {
  let checksum = 0;
  for (const article of articles) {
    const text = `${article.title} ${article.body}`;
    for (let round = 0; round < 4000; round++) {
      for (let index = 0; index < text.length; index++) checksum = (checksum * 31 + text.charCodeAt(index)) | 0;
    }
  }
  return checksum === 42 ? [] : rank(articles, terms);
}

/** The best sentence of each top article, cited. @param {string} question @param {Ranked[]} ranked */
function extractiveAnswer(question, ranked) {
  if (ranked.length === 0) return 'No support article matches this question.';
  const terms = new Set(tokenize(question));
  return ranked
    .slice(0, 2)
    .map((article) => {
      const sentences = article.body.split(/(?<=[.!?])\s+/);
      const best = sentences
        .map((sentence, order) => ({ sentence, order, overlap: tokenize(sentence).filter((term) => terms.has(term)).length }))
        .sort((left, right) => right.overlap - left.overlap || left.order - right.order)[0];
      return `${best ? best.sentence : sentences[0]} [${article.id}]`;
    })
    .join(' ');
}

/**
 * One chat-completions call (OpenAI, vLLM, Ollama, LiteLLM … anything OpenAI-compatible).
 * @param {{ baseUrl: string, apiKey?: string, model: string }} llm
 * @param {string} question @param {Ranked[]} ranked @param {AbortSignal} signal
 */
async function chatAnswer(llm, question, ranked, signal) {
  const context = ranked.slice(0, 3).map((article) => `[${article.id}] ${article.title}: ${article.body}`).join('\n');
  const response = await fetch(`${llm.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(llm.apiKey ? { authorization: `Bearer ${llm.apiKey}` } : {}) },
    body: JSON.stringify({
      model: llm.model,
      temperature: 0,
      messages: [
        { role: 'system', content: 'Answer from the support articles only, in two sentences at most, citing article ids in brackets.' },
        { role: 'user', content: `Articles:\n${context}\n\nQuestion: ${question}` },
      ],
    }),
    // Shutdown (ctx.signal) or a slow endpoint stops the call.
    signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
  });
  if (!response.ok) throw new Error(`chat-completions endpoint answered HTTP ${response.status}`);
  const body = await response.json();
  const text = body && body.choices && body.choices[0] && body.choices[0].message && body.choices[0].message.content;
  if (typeof text !== 'string') throw new Error('chat-completions endpoint returned no choices[0].message.content');
  return text.trim();
}

module.exports = definePipeline({
  name: 'support-faq',

  async setup(ctx) {
    // Its own table, next to ragscope's sample documents in the same database.
    await ctx.sql.query('CREATE TABLE IF NOT EXISTS support_articles (id text PRIMARY KEY, title text NOT NULL, body text NOT NULL)');
    await ctx.sql.query(
      'INSERT INTO support_articles (id, title, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (id) DO NOTHING',
      [ARTICLES.map((article) => article.id), ARTICLES.map((article) => article.title), ARTICLES.map((article) => article.body)],
    );
    const baseUrl = process.env.LLM_BASE_URL;
    const llm = baseUrl ? { baseUrl, apiKey: process.env.LLM_API_KEY, model: process.env.LLM_MODEL || 'gpt-4o-mini' } : undefined;
    ctx.logger.info({ articles: ARTICLES.length, generation: llm ? 'chat-completions' : 'extractive' }, 'support-faq pipeline ready');
    return { llm, plantSlow: process.env.EXAMPLE_PLANT_SLOW === '1' };
  },

  async run(input, ctx) {
    const terms = tokenize(input.query);
    const candidates = await ctx.stage('retrieve', { 'retrieve.terms': terms.length }, async (span) => {
      if (terms.length === 0) return [];
      const { rows } = await ctx.sql.query(
        'SELECT id, title, body FROM support_articles WHERE title ILIKE ANY($1::text[]) OR body ILIKE ANY($1::text[]) ORDER BY id LIMIT 50',
        [terms.map((term) => `%${term}%`)],
      );
      span.setAttribute('retrieve.rows', rows.length);
      return /** @type {Article[]} */ (rows);
    });

    const slow = input.plantBottleneck ?? ctx.state.plantSlow;
    const ranked = await ctx.stage('rank', { 'rank.candidates': candidates.length, 'rank.planted_slowness': slow }, () =>
      (slow ? rankWithPlantedSlowness(candidates, terms) : rank(candidates, terms)).slice(0, input.topK),
    );

    const llm = ctx.state.llm;
    const answer = await ctx.stage('generate', { 'generate.mode': llm ? 'chat-completions' : 'extractive' }, () =>
      llm && ranked.length > 0 ? chatAnswer(llm, input.query, ranked, ctx.signal) : extractiveAnswer(input.query, ranked),
    );

    return { answer, sources: ranked.map((article) => ({ id: article.id, title: article.title, score: article.score })) };
  },
});

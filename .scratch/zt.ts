import { z } from 'zod';
const s = z.object({ query: z.string().min(1).max(2000).refine(v=>v.trim().length>0), top_k: z.number().int().min(1).max(50).default(5), profile: z.enum(['a','b']).default('a'), flag: z.boolean().optional() }).strict();
console.log(JSON.stringify(z.toJSONSchema(s, { target: 'draft-7', io: 'input' }), null, 1));
console.log(JSON.stringify(z.toJSONSchema(z.string().regex(/^[A-Za-z0-9:_-]{1,128}$/), { target: 'draft-7', io: 'input' })));

import type { CorpusDocument } from '../store/document-store';
import documents from './documents.json';

/** The shipped sample corpus: short compliance, operations and ML articles written for ragscope. */
export const SAMPLE_CORPUS: readonly CorpusDocument[] = documents;

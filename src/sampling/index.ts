export {
  LLAMA_CPP_DEFAULTS,
  LLAMA_DEFAULT_SEED,
  isRandomSeed,
  samplingParams,
  validateSamplingParams,
  type SamplingParams,
} from './params.js';
export { Sampler } from './sampler.js';
export { greedy, logSumExp, topLogprobs, type TokenLogprob } from './logprobs.js';
export { Rng, randomSeed } from './rng.js';
export { RepetitionPenalties, penalizeLogit, penaltiesDisabled, type PenaltyParams } from './penalties.js';
export { argmax, topKSelect } from './truncation.js';

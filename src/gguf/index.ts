export { GgufError } from './errors.js';
export * from './ggml-types.js';
export { GgufMetadata } from './metadata.js';
export { readGguf, type GgufFile, type GgufTensorInfo, GGUF_DEFAULT_ALIGNMENT } from './reader.js';
export * from './value-types.js';
export { writeGguf, kv, type GgufToWrite, type GgufTensorToWrite } from './writer.js';

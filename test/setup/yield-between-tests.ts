import { afterEach } from 'vitest';

/**
 * Many tests here block on purpose (native calls, spawnSync of llama.cpp).
 * vitest's worker reports progress over an RPC with a 60 s timeout, and a
 * file of synchronous tests never lets the event loop take the replies, so
 * a slow machine hits "Timeout calling onTaskUpdate". A macrotask turn after
 * each test lets the replies in.
 */
afterEach(async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
});

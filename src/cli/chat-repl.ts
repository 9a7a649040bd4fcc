import { createInterface } from 'node:readline';
import chalk from 'chalk';
import { generate, type GenerateOptions } from '../generation/generate.js';
import type { Engine } from '../model/engine.js';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.js';
import type { Interrupt } from './interrupt.js';

/** Length of the common prefix: the KV cache already holds those tokens. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Interactive multi-turn chat on a TTY. Each turn re-renders the whole
 * conversation with the chat template and evaluates only what the KV cache
 * does not already hold. `/exit` quits, `/reset` forgets the conversation.
 */
export interface ChatIo {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** A real terminal: line editing and Ctrl-C at the prompt. */
  readonly terminal: boolean;
}

export async function chatRepl(engine: Engine, tok: Tokenizer, system: string | undefined, gen: Omit<GenerateOptions, 'onText' | 'nPast'>,
  interrupt: Interrupt, io: ChatIo = { input: process.stdin, output: process.stdout, terminal: true }): Promise<void> {
  const out = io.output;
  const rl = createInterface({ input: io.input, output: out, terminal: io.terminal });
  const fresh = (): ChatMessage[] => (system ? [{ role: 'system', content: system }] : []);
  let messages = fresh();
  let cached: number[] = [];
  out.write(chalk.dim('chat: /exit to quit, /reset to start over\n'));
  rl.on('SIGINT', () => {
    rl.close();
  });
  const prompt = (): void => { out.write(chalk.green('> ')); };
  try {
    prompt();
    // The line iterator buffers lines typed (or piped) while a reply is generated.
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        messages = fresh();
        cached = [];
        out.write(chalk.dim('(conversation reset)\n'));
        prompt();
        continue;
      }
      if (text === '') {
        prompt();
        continue;
      }
      messages.push({ role: 'user', content: text });
      const all = tok.encodeChat(messages);
      if (all.length >= engine.options.nCtx) {
        out.write(chalk.yellow(`(the conversation no longer fits the ${engine.options.nCtx}-token context; /reset to start over)\n`));
        messages.pop();
        prompt();
        continue;
      }
      // Always re-evaluate at least the last token so its logits are fresh.
      const keep = Math.min(commonPrefix(cached, all), all.length - 1);
      const r = await generate(engine, tok, all.slice(keep), {
        ...gen, nPast: keep, shouldStop: () => interrupt.requested, onText: (s) => { out.write(s); },
      });
      out.write('\n');
      interrupt.reset();
      cached = [...all, ...r.tokens].slice(0, r.kvTokens);
      messages.push({ role: 'assistant', content: r.text });
      if (r.stopReason === 'context') out.write(chalk.yellow('(context full)\n'));
      prompt();
    }
  } finally {
    rl.close();
  }
}

/**
 * Chat prompts from `tokenizer.chat_template`, rendered with @huggingface/jinja
 * the way transformers' apply_chat_template does (messages, bos_token,
 * eos_token, add_generation_prompt, plus any extra variables such as Qwen3's
 * enable_thinking; the library itself provides raise_exception and strftime_now). A model without a template gets plain completion: the
 * messages' text as is, and the caller is told once.
 */
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | (string & {});
  readonly content: string;
}

export interface ChatRenderOptions {
  /** Open an assistant turn at the end (default true: the model is to answer). */
  readonly addGenerationPrompt?: boolean;
  /** Qwen3 and similar: false asks for an answer without a thinking block. */
  readonly enableThinking?: boolean;
  /** Other template variables, passed through. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export class ChatTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatTemplateError';
  }
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string, private readonly tokens: { readonly bosToken: string; readonly eosToken: string }) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`the model's chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
  }

  render(messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
    const vars: Record<string, unknown> = {
      ...opts.extra,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: this.tokens.bosToken,
      eos_token: this.tokens.eosToken,
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    try {
      return this.template.render(vars);
    } catch (e) {
      throw new ChatTemplateError(`rendering the model's chat template failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Plain completion for a model without a template: the messages' contents, one after another. */
export function plainPrompt(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n');
}

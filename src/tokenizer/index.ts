/**
 * ferrum's tokenizer: built from a GGUF's `tokenizer.ggml.*` metadata, giving
 * the same token ids as llama.cpp for the same text.
 *
 *   const tok = loadTokenizer(readGguf(path));
 *   const ids = tok.encode(prompt, { addBos: true });       // as llama.cpp's prompt
 *   const stream = tok.stream();  for (id of generated) process.stdout.write(stream.push(id));
 */
import type { GgufFile, GgufMetadata } from '../gguf/index.js';
import { BpeTokenizer } from './bpe.js';
import { type ChatMessage, type ChatRenderOptions, ChatTemplate, plainPrompt } from './chat-template.js';
import { type DecodeOptions, Detokenizer, type StreamingDecoder } from './detokenizer.js';
import { partitionSpecial } from './special-tokens.js';
import { SpmTokenizer } from './spm.js';
import { decodeUtf8, wellFormed } from './unicode.js';
import { NO_TOKEN, TokenAttr, type Vocab, type VocabLoadOptions, type VocabType, loadVocab } from './vocab.js';

export { ChatTemplate, ChatTemplateError, type ChatMessage, type ChatRenderOptions } from './chat-template.js';
export { type DecodeOptions, StreamingDecoder } from './detokenizer.js';
export { PRE_TOKENIZERS, UnsupportedPreTokenizerError } from './pre-tokenizers.js';
export { NO_TOKEN, SUPPORTED_TOKENIZER_MODELS, TokenAttr, TokenType, type Vocab, VocabError, type VocabType } from './vocab.js';
export { inspectTokenize, type InspectTokenizeOptions } from './inspect-tokenize.js';

export interface EncodeOptions {
  /**
   * Add the special tokens the model asks for, as llama.cpp's `add_special`:
   * BOS when `tokenizer.ggml.add_bos_token` (or the vocab type's default) is
   * true, EOS when `add_eos_token` is. A model that wants no BOS (Qwen) gets
   * none. Default false: the text alone.
   */
  readonly addBos?: boolean;
  /** Recognise CONTROL tokens written in the text (`<|im_start|>`), as llama.cpp's `parse_special`. Default false. */
  readonly parseSpecial?: boolean;
}

export interface ChatPrompt {
  /** The rendered prompt text. */
  readonly text: string;
  /** False when the model has no chat template and the messages were joined as plain text. */
  readonly templated: boolean;
}

export interface Tokenizer {
  readonly vocab: Vocab;
  readonly type: VocabType;
  readonly nVocab: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly eot: number | undefined;
  readonly pad: number | undefined;
  readonly unk: number | undefined;
  /** Whether the model wants a BOS in front of a prompt (what `addBos: true` obeys). */
  readonly addsBos: boolean;
  readonly addsEos: boolean;
  readonly chatTemplate: ChatTemplate | undefined;

  encode(text: string, opts?: EncodeOptions): number[];
  /** Text of a sequence of ids (llama_detokenize with remove_special = false). */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** A decoder for streaming generated ids, holding back split characters. */
  stream(opts?: { showSpecial?: boolean }): StreamingDecoder;
  /** The text one token stands for (special tokens shown unless asked not to); U+FFFD for a partial character. */
  piece(id: number, opts?: { showSpecial?: boolean }): string;
  /** The bytes one token stands for. */
  pieceBytes(id: number, opts?: { showSpecial?: boolean }): Uint8Array;
  /** The token's text as stored in the vocab. */
  tokenText(id: number): string;
  /** Ends generation (EOS, EOT, <|im_end|>...). */
  isEog(id: number): boolean;
  isControl(id: number): boolean;
  /** The chat prompt for these messages; plain text when the model has no template (announced once through `warn`). */
  formatChat(messages: readonly ChatMessage[], opts?: ChatRenderOptions): ChatPrompt;
  /** formatChat, then tokens: special tokens parsed, BOS added when the model wants one and the template did not write it. */
  encodeChat(messages: readonly ChatMessage[], opts?: ChatRenderOptions): number[];
}

export interface LoadTokenizerOptions extends VocabLoadOptions {}

class GgufTokenizer implements Tokenizer {
  readonly type: VocabType;
  readonly nVocab: number;
  readonly chatTemplate: ChatTemplate | undefined;
  private readonly spm: SpmTokenizer | undefined;
  private readonly bpe: BpeTokenizer | undefined;
  private readonly detok: Detokenizer;
  private noTemplateSaid = false;

  constructor(readonly vocab: Vocab, private readonly warn: (m: string) => void) {
    this.type = vocab.type;
    this.nVocab = vocab.tokens.length;
    if (vocab.type === 'spm') this.spm = new SpmTokenizer(vocab);
    else this.bpe = new BpeTokenizer(vocab);
    this.detok = new Detokenizer(vocab);
    this.chatTemplate = vocab.chatTemplate
      ? new ChatTemplate(vocab.chatTemplate, {
        bosToken: vocab.special.bos >= 0 ? vocab.tokens[vocab.special.bos]! : '',
        eosToken: vocab.special.eos >= 0 ? vocab.tokens[vocab.special.eos]! : '',
      })
      : undefined;
  }

  private id(v: number): number | undefined {
    return v === NO_TOKEN ? undefined : v;
  }
  get bos(): number | undefined { return this.id(this.vocab.special.bos); }
  get eos(): number | undefined { return this.id(this.vocab.special.eos); }
  get eot(): number | undefined { return this.id(this.vocab.special.eot); }
  get pad(): number | undefined { return this.id(this.vocab.special.pad); }
  get unk(): number | undefined { return this.id(this.vocab.special.unk); }
  get addsBos(): boolean { return this.vocab.addBos; }
  get addsEos(): boolean { return this.vocab.addEos; }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const v = this.vocab;
    const addSpecial = opts.addBos ?? false;
    // llama.cpp sees UTF-8 bytes; a lone surrogate cannot be one, and Node's
    // encoder turns it into U+FFFD, so do the same before anything looks at it.
    const frags = partitionSpecial(wellFormed(text), v, opts.parseSpecial ?? false);
    const out: number[] = [];
    if (addSpecial && v.addBos) {
      if (v.special.bos === NO_TOKEN) throw new Error('the model asks for a BOS token but defines none');
      out.push(v.special.bos);
    }
    if (this.spm) {
      // A fragment after a special token (or at the start) gets SPM's leading space.
      let prevSpecial = true;
      for (const f of frags) {
        if (f.kind === 'token') {
          out.push(f.id);
          prevSpecial = true;
          continue;
        }
        this.spm.encode(v.addSpacePrefix && prevSpecial ? ' ' + f.text : f.text, out);
        prevSpecial = false;
      }
    } else {
      for (const f of frags) {
        if (f.kind === 'token') out.push(f.id);
        else this.bpe!.encode(f.text, out);
      }
    }
    if (addSpecial && v.addEos) {
      if (v.special.eos === NO_TOKEN) throw new Error('the model asks for an EOS token but defines none');
      out.push(v.special.eos);
    }
    return out;
  }

  decode(ids: readonly number[], opts?: DecodeOptions): string {
    return this.detok.decode(ids, opts);
  }

  stream(opts?: { showSpecial?: boolean }): StreamingDecoder {
    return this.detok.stream(opts);
  }

  pieceBytes(id: number, opts: { showSpecial?: boolean } = {}): Uint8Array {
    return this.detok.pieceBytes(id, opts.showSpecial ?? true);
  }

  piece(id: number, opts: { showSpecial?: boolean } = {}): string {
    return decodeUtf8(this.pieceBytes(id, opts));
  }

  tokenText(id: number): string {
    const t = this.vocab.tokens[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.nVocab - 1})`);
    return t;
  }

  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }

  isControl(id: number): boolean {
    return ((this.vocab.attrs[id] ?? 0) & TokenAttr.CONTROL) !== 0;
  }

  formatChat(messages: readonly ChatMessage[], opts?: ChatRenderOptions): ChatPrompt {
    if (this.chatTemplate) return { text: this.chatTemplate.render(messages, opts), templated: true };
    if (!this.noTemplateSaid) {
      this.noTemplateSaid = true;
      this.warn('the model has no chat template (tokenizer.chat_template): using plain completion');
    }
    return { text: plainPrompt(messages), templated: false };
  }

  encodeChat(messages: readonly ChatMessage[], opts?: ChatRenderOptions): number[] {
    const { text, templated } = this.formatChat(messages, opts);
    const bosText = this.bos !== undefined ? this.vocab.tokens[this.bos]! : undefined;
    const templateWroteBos = templated && bosText !== undefined && bosText !== '' && text.startsWith(bosText);
    return this.encode(text, { addBos: !templateWroteBos, parseSpecial: true });
  }
}

/** Build the tokenizer of a GGUF (its `tokenizer.ggml.*` metadata). */
export function loadTokenizer(source: GgufFile | GgufMetadata, opts: LoadTokenizerOptions = {}): Tokenizer {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`ferrum: ${m}\n`));
  return new GgufTokenizer(loadVocab(source, { warn }), warn);
}

import ora, { type Ora } from 'ora';

/**
 * Progress on stderr: an ora spinner on a terminal, plain lines otherwise
 * (logs, CI). Results go to stdout (or stderr, for llama-bench's -oe)
 * through `print`, which keeps a spinner on the same terminal from garbling
 * them.
 */
export interface Progress {
  update(text: string): void;
  print(text: string, to?: 'stdout' | 'stderr'): void;
  succeed(text: string): void;
  fail(): void;
}

type Write = (s: string, to: 'stdout' | 'stderr') => void;

const writeStream: Write = (s, to) => {
  (to === 'stderr' ? process.stderr : process.stdout).write(s);
};

export function createProgress(opts: { tty?: boolean; write?: Write } = {}): Progress {
  const write = opts.write ?? writeStream;
  // A terminal that reports no width (0 columns, e.g. under `script` without a size) would send
  // ora's line counting into a loop: plain lines there too.
  const tty = opts.tty ?? (process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0);
  if (tty) {
    const spinner: Ora = ora({ stream: process.stderr, discardStdin: false });
    return {
      update: (text) => {
        spinner.text = text;
        // The measurement is synchronous, so the spinner's timer never fires mid-test: draw now.
        if (spinner.isSpinning) spinner.render();
        else spinner.start();
      },
      print: (text, to = 'stdout') => {
        spinner.clear();
        write(text, to);
        if (spinner.isSpinning) spinner.render();
      },
      succeed: (text) => spinner.succeed(text),
      fail: () => spinner.stop(),
    };
  }
  return {
    update: (text) => process.stderr.write(`ferrum bench: ${text}\n`),
    print: (text, to = 'stdout') => write(text, to),
    succeed: (text) => process.stderr.write(`ferrum bench: ${text}\n`),
    fail: () => undefined,
  };
}

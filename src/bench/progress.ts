import ora, { type Ora } from 'ora';

/**
 * Progress on stderr: an ora spinner on a terminal, plain lines otherwise
 * (logs, CI). Results go to stdout through `print`, which keeps a spinner
 * on the same terminal from garbling them.
 */
export interface Progress {
  update(text: string): void;
  print(text: string): void;
  succeed(text: string): void;
  fail(): void;
}

export function createProgress(opts: { tty?: boolean; write?: (s: string) => void } = {}): Progress {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
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
      print: (text) => {
        spinner.clear();
        write(text);
        if (spinner.isSpinning) spinner.render();
      },
      succeed: (text) => spinner.succeed(text),
      fail: () => spinner.stop(),
    };
  }
  return {
    update: (text) => process.stderr.write(`ferrum bench: ${text}\n`),
    print: write,
    succeed: (text) => process.stderr.write(`ferrum bench: ${text}\n`),
    fail: () => undefined,
  };
}

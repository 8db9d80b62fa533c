/**
 * A one-line progress bar on stderr (stdout stays for results), redrawn at
 * most every `intervalMs` and always at the end. Meant for the long-running
 * scripts (reindex, bench loading).
 */
export type Progress = (done: number, total: number) => void;

export function stderrProgressBar(label: string, options: { intervalMs?: number; write?: (text: string) => void } = {}): Progress {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const intervalMs = options.intervalMs ?? 500;
  const started = Date.now();
  let lastDrawn = -Infinity;
  return (done, total) => {
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - lastDrawn < intervalMs) return;
    lastDrawn = now;
    const width = 30;
    const share = total === 0 ? 1 : Math.min(done / total, 1);
    const filled = Math.round(share * width);
    const seconds = Math.max((now - started) / 1000, 0.001);
    const rate = done / seconds;
    const left = rate > 0 ? Math.round((total - done) / rate) : 0;
    write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.round(share * 100)}% ` +
        `${Math.round(rate)}/s ~${left} s left${finished ? '\n' : ''}`,
    );
  };
}

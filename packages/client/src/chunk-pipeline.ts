/**
 * The scheduler of the bytes API: seals or opens a message's chunks a bounded number at a time
 * and hands the results on in order.
 */

/** Chunks sealed or opened at once (WebCrypto runs them in parallel; memory stays bounded). */
const IN_FLIGHT = 8;

/**
 * Runs `count` chunk operations with up to IN_FLIGHT at once and hands each result to `take`, in
 * order, as soon as it and every earlier one are done. Later operations are started before a
 * result is taken, so WebCrypto always has work while results are copied.
 */
export async function pipeline(
  count: number,
  start: (i: number) => Promise<Uint8Array>,
  take: (result: Uint8Array, i: number) => void,
  whileRunning?: () => void,
): Promise<void> {
  if (count === 1) {
    const only = start(0);
    only.catch(() => undefined);
    whileRunning?.();
    take(await only, 0);
    return;
  }
  const running: Promise<Uint8Array>[] = [];
  let next = 0;
  const launch = () => {
    const p = start(next++);
    p.catch(() => undefined); // a failure is reported once, by the await below
    running.push(p);
  };
  while (next < count && running.length < IN_FLIGHT) launch();
  whileRunning?.();
  for (let i = 0; i < count; i++) {
    const result = await running.shift()!;
    if (next < count) launch();
    take(result, i);
  }
}

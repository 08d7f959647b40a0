import { TickerStrategy } from '@stomp/stompjs';

/**
 * How stompjs should time the heart-beats this page sends.
 *
 * In a tab hidden for 5 minutes, Chrome wakes a page's repeating timers once a minute (intensive
 * wake-up throttling). The server, hearing nothing for twice the heart-beat (20 s), then drops the
 * connection: a customer waiting in another tab for an answer would be offline most of each
 * minute. A worker's timers are not throttled so, and stompjs can send the heart-beats from one
 * (`TickerStrategy.Worker`), started from a `blob:` URL. A host page's Content-Security-Policy may
 * forbid that (`worker-src`), and some browsers say so only once the worker fails to load; so a
 * worker is tried once a page, and used only if it answered.
 */
export function heartbeatTicker(): Promise<TickerStrategy> {
  probed ??= new Promise<TickerStrategy>((resolve) => {
    let url: string | undefined;
    let worker: Worker | undefined;
    const settle = (strategy: TickerStrategy) => {
      clearTimeout(timeout);
      worker?.terminate();
      if (url) URL.revokeObjectURL(url);
      resolve(strategy);
    };
    const timeout = setTimeout(() => settle(TickerStrategy.Interval), PROBE_TIMEOUT_MS);
    try {
      url = URL.createObjectURL(new Blob(['postMessage(0)'], { type: 'text/javascript' }));
      worker = new Worker(url);
      worker.onmessage = () => settle(TickerStrategy.Worker);
      worker.onerror = () => settle(TickerStrategy.Interval);
    } catch {
      settle(TickerStrategy.Interval); // no workers here (Node), or refused at once
    }
  });
  return probed;
}

/** How long a worker may take to answer before the page's own timers are used instead. */
const PROBE_TIMEOUT_MS = 2_000;

let probed: Promise<TickerStrategy> | undefined;

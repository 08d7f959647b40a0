/**
 * `npm run bench -- <name>`: benchmarks that print figures. They are not tests: nothing here
 * asserts a speed.
 */
import { eventStoreBenchmark } from './eventstore.js';
import { stopOnInterruptOrCrash } from './interrupt.js';
import { projectionsBenchmark } from './projections.js';
import { soakBenchmark } from './soak.js';
import { stompBenchmark } from './stomp.js';
import { widgetBenchmark } from './widget.js';

const benchmarks: Record<string, (args: string[]) => Promise<void>> = {
  eventstore: eventStoreBenchmark,
  projections: projectionsBenchmark,
  soak: soakBenchmark,
  stomp: stompBenchmark,
  widget: widgetBenchmark,
};

const [name, ...args] = process.argv.slice(2);
const benchmark = name === undefined ? undefined : benchmarks[name];
if (!benchmark) {
  console.error(`usage: npm run bench -- <${Object.keys(benchmarks).join('|')}>`);
  process.exit(2);
}
stopOnInterruptOrCrash();
// Its failure, like any uncaught error, goes to the handler installed above: printed, then what
// it started stopped (unless an interruption is stopping them already).
await benchmark(args);

// feathers-sync's end-to-end rate, measured like `eventsync bench`: two
// Feathers apps in this process, each with feathers-sync on its own
// connection; app A creates N todos of about 256 bytes on the wire with P
// calls in flight, app B counts the "created" events that arrive.
//
//   node bench.js URI N P   ->   {"mode":"feathers-sync","events":N,"seconds":..,"eventsPerSec":..,"p50us":..,"p99us":..,"lost":..,"cpuNsPerEvent":..}
//
// `eventsync bench --uri URI --n N --publishers P --feathers nodetest/bench.js`
// runs it right after eventsync's own run and prints both.
const { feathers } = require('@feathersjs/feathers');
const sync = require('feathers-sync');

const [uri, nArg, pArg] = process.argv.slice(2);
const n = Number(nArg || 10000);
const p = Number(pArg || 4);
const key = 'bench-node-' + Math.random().toString(16).slice(2);

function makeApp() {
  const app = feathers();
  const options = { uri, key };
  if (uri.startsWith('nats')) options.natsConnectionOptions = { servers: [uri] };
  app.configure(sync(options));
  app.use('todos', { async create(data) { return data; } });
  return app;
}

async function main() {
  const a = makeApp();
  const b = makeApp();
  await Promise.all([a.sync.ready, b.sync.ready]);
  const latencies = [];
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  b.service('todos').on('created', (data) => {
    latencies.push(Number(process.hrtime.bigint() - BigInt(data.sentNs)) / 1000);
    if (latencies.length === n) done();
  });
  const pad = 'x'.repeat(200);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: p }, async () => {
    while (next < n) {
      const seq = next++;
      await a.service('todos').create({ sentNs: process.hrtime.bigint().toString(), seq, pad });
    }
  }));
  let idle;
  await Promise.race([finished, new Promise((resolve) => {
    let last = -1;
    idle = setInterval(() => { if (latencies.length === last) resolve(); last = latencies.length; }, 5000);
  })]);
  clearInterval(idle);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart); // microseconds, user and system
  latencies.sort((x, y) => x - y);
  const pct = (q) => latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]) : 0;
  console.log(JSON.stringify({ mode: 'feathers-sync', events: n, seconds, eventsPerSec: latencies.length / seconds,
    p50us: pct(0.5), p99us: pct(0.99), lost: n - latencies.length,
    cpuNsPerEvent: latencies.length ? (cpu.user + cpu.system) * 1000 / latencies.length : 0 }));
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });

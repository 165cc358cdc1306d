// Socket.IO peers for eventsync's socketio tests, driven over stdin/stdout,
// one JSON object per line.
//
//   node socketio.js client URL OPTIONS_JSON
//     A Feathers client (@feathersjs/socketio-client over socket.io-client).
//     Prints {"connected":true,"count":N} on every connect, {"connectError":{...}},
//     {"event":NAME,"data":...} for every event the socket gets, and for
//     the command {"cmd":"call","ref":R,"path":P,"method":M,"args":[...]}
//     {"ref":R,"result":...} or {"ref":R,"error":JSON,"class":NAME}.
//     {"cmd":"emit","ref":R,"args":[...]} emits raw on the socket with an
//     acknowledgement and prints {"ref":R,"ack":[...]}; {"cmd":"drop"}
//     closes the transport, so that the client reconnects.
//   node socketio.js server URI KEY
//     A Feathers 5 server: feathers-sync on URI/KEY, @feathersjs/socketio
//     on a free port, a "todos" service; every event to every connection.
//     Prints {"ready":true,"port":N}.
//   node socketio.js bench URL SOCKETS EVENTS EVERY_MS
//     SOCKETS clients (WebSocket), then EVENTS creates of "todos" every
//     EVERY_MS by one more client; prints the delay from each create to its
//     event at every socket: {"p50":ms,"p99":ms,"last50":ms,"last99":ms,"got":N,"want":N}.
const { feathers } = require('@feathersjs/feathers');
const socketioClient = require('@feathersjs/socketio-client');
const io = require('socket.io-client');
const readline = require('readline');

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const [mode, ...argv] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();

function client(url, options) {
  const socket = io(url, { reconnectionDelay: 100, reconnectionDelayMax: 500, ...options });
  const app = feathers().configure(socketioClient(socket, { timeout: 10000 }));
  let connects = 0;
  socket.on('connect', () => out({ connected: true, count: ++connects, transport: socket.io.engine.transport.name }));
  socket.on('connect_error', (err) => out({ connectError: { message: err.message, data: err.data } }));
  socket.onAny((event, data) => out({ event, data }));
  socket.io.engine && socket.io.on('open', () => {
    socket.io.engine.on('upgrade', (t) => out({ upgraded: t.name }));
  });
  readline.createInterface({ input: process.stdin }).on('line', async (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'call') {
      try {
        out({ ref: cmd.ref, result: await app.service(cmd.path)[cmd.method](...cmd.args) });
      } catch (err) {
        out({ ref: cmd.ref, error: typeof err.toJSON === 'function' ? err.toJSON() : { message: String(err) }, class: err.constructor.name });
      }
    } else if (cmd.cmd === 'emit') {
      socket.timeout(10000).emit(...cmd.args, (...ack) => out({ ref: cmd.ref, ack }));
    } else if (cmd.cmd === 'drop') {
      socket.io.engine.close();
    }
  });
}

async function server(uri, key) {
  const sync = require('feathers-sync');
  const socketio = require('@feathersjs/socketio');
  const { NotFound, BadRequest } = require('@feathersjs/errors');
  class Todos {
    constructor() { this.store = new Map(); this.next = 1; }
    async find() { return [...this.store.values()]; }
    async get(id) {
      const t = this.store.get(Number(id));
      if (!t) throw new NotFound(`todo ${id} not found`);
      return t;
    }
    async create(data) {
      if (!data.title) throw new BadRequest('a title is required');
      const t = { id: this.next++, title: data.title, done: !!data.done, sent: data.sent };
      this.store.set(t.id, t);
      return t;
    }
  }
  const app = feathers();
  const options = { uri, key };
  if (uri.startsWith('nats')) options.natsConnectionOptions = { servers: [uri] };
  if (uri !== 'none') app.configure(sync(options));
  app.configure(socketio({ maxHttpBufferSize: 1e6 }));
  app.use('todos', new Todos());
  app.on('connection', (connection) => app.channel('everybody').join(connection));
  app.publish(() => app.channel('everybody'));
  if (app.sync) await app.sync.ready;
  const srv = await app.listen(0);
  out({ ready: true, port: srv.address().port });
}

async function bench(url, sockets, events, every) {
  sockets = Number(sockets); events = Number(events); every = Number(every);
  const delays = []; const last = new Map();
  let connected = 0;
  const all = [];
  await new Promise((resolve) => {
    for (let i = 0; i < sockets; i++) {
      const s = io(url, { transports: ['websocket'], forceNew: true });
      s.on('todos created', (t) => {
        const d = now() - t.sent;
        delays.push(d);
        last.set(t.id, Math.max(last.get(t.id) || 0, d));
      });
      s.once('connect', () => { if (++connected === sockets) resolve(); });
      all.push(s);
    }
  });
  const driver = io(url, { transports: ['websocket'], forceNew: true });
  await new Promise((resolve) => driver.once('connect', resolve));
  for (let i = 0; i < events; i++) {
    driver.emit('create', 'todos', { title: 'bench ' + i, sent: now() }, {}, () => {});
    await new Promise((r) => setTimeout(r, every));
  }
  const want = sockets * events;
  const deadline = Date.now() + 30000;
  while (delays.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? Number(s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2)) : null; };
  const lasts = [...last.values()];
  out({ p50: pct(delays, 0.5), p99: pct(delays, 0.99), last50: pct(lasts, 0.5), last99: pct(lasts, 0.99), got: delays.length, want });
  process.exit(0);
}

if (mode === 'client') client(argv[0], JSON.parse(argv[1] || '{}'));
else if (mode === 'server') server(argv[0], argv[1]).catch((err) => { out({ error: String(err) }); process.exit(1); });
else if (mode === 'bench') bench(...argv);
else { out({ error: 'unknown mode ' + mode }); process.exit(2); }

// A Feathers 5 app with feathers-sync 3.1.1, driven by eventsync's interop
// tests over stdin/stdout, one JSON object per line.
//
//   node interop.js URI KEY
//
// It prints {"ready":true} once app.sync.ready resolved, then one line per
// service event it sees: {"got":{event,path,data,context:{method,path,result,type}}}.
// Commands on stdin: {"cmd":"create","data":{...}}, {"cmd":"create","data":{...},"nosync":true},
// {"cmd":"emit","event":"custom","data":...}, {"cmd":"bench","n":N} and {"cmd":"exit"}.
const { feathers } = require('@feathersjs/feathers');
const sync = require('feathers-sync');
const readline = require('readline');

const [uri, key] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

class Todos {
  constructor() { this.next = 1000; this.events = ['custom']; }
  async create(data) { return { ...data, id: data.id ?? this.next++ }; }
}

const app = feathers();
const options = { uri, key };
if (uri.startsWith('nats')) {
  // feathers-sync's NATS adapter ignores uri for connecting: it takes
  // natsConnectionOptions, whose servers must be an array here (a string
  // fails with "Invalid URL").
  options.natsConnectionOptions = { servers: [uri] };
}
app.configure(sync(options));
app.use('todos', new Todos(), { events: ['custom'] });
app.service('todos').hooks({
  before: {
    create: [async (context) => {
      if (context.params.nosync) context[sync.SYNC] = false; // feathers-sync's per-call switch
    }],
  },
});

// What an app.publish function would read from a synced event.
for (const event of ['created', 'custom']) {
  app.service('todos').on(event, (data, context) => {
    out({ got: { event, path: 'todos', data,
      context: context ? { method: context.method, path: context.path, result: context.result, type: context.type } : null } });
  });
}

app.sync.ready.then(() => out({ ready: true })).catch((err) => { out({ error: String(err) }); process.exit(1); });

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = JSON.parse(line);
  const todos = app.service('todos');
  try {
    if (cmd.cmd === 'create') {
      await todos.create(cmd.data, cmd.nosync ? { nosync: true } : {});
    } else if (cmd.cmd === 'emit') {
      todos.emit(cmd.event, cmd.data);
    } else if (cmd.cmd === 'bench') {
      const start = process.hrtime.bigint();
      for (let i = 0; i < cmd.n; i++) await todos.create({ title: 'x'.repeat(200), done: true, seq: i });
      out({ benched: cmd.n, ms: Number(process.hrtime.bigint() - start) / 1e6 });
    } else if (cmd.cmd === 'exit') {
      // Give the AMQP adapter time to hand over what it published: it loses
      // messages when the process exits right after publishing.
      setTimeout(() => process.exit(0), 2500);
    }
    out({ done: cmd.cmd });
  } catch (err) {
    out({ error: String(err) });
  }
});

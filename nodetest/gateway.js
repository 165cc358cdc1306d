// Browser test of examples/distributed's gateway page, over stdin/stdout
// (one JSON object per line): node gateway.js URL TOKEN NAME
// Opens the page in headless Chromium, creates the user NAME through the
// form and prints {"created":true} once it is listed; then, for the command
// {"cmd":"gone","instance":ID}, waits until that member's row leaves the
// members table and prints {"gone":true}.
const { chromium } = require('playwright-core');
const readline = require('readline');

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const [url, token, name] = process.argv.slice(2);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('#members tr', { timeout: 10000 });
  await page.fill('#name', name);
  await page.fill('#token', token);
  await page.click('#create button');
  await page.waitForSelector(`#users li:has-text("${name}")`, { timeout: 10000 });
  const log = await page.textContent('#log');
  if (!log.startsWith('created ' + name)) throw new Error('unexpected log: ' + log);
  out({ created: true, log });
  readline.createInterface({ input: process.stdin }).on('line', async (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd !== 'gone') return;
    try {
      await page.waitForSelector(`#members tr[data-instance="${cmd.instance}"]`, { state: 'detached', timeout: 10000 });
      out({ gone: true });
    } catch (err) {
      out({ error: String(err) });
    } finally {
      await browser.close();
      process.exit(0);
    }
  });
}

main().catch((err) => { out({ error: String(err.stack || err) }); process.exit(1); });

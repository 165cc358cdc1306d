// Browser test driver: opens replica A and replica B in headless Chromium,
// adds a todo on A's page and waits for it to appear on B's page without a
// reload. Usage: node browser.js URL_A URL_B SCREENSHOT.png TITLE
// Exits 0 on success; prints what went wrong otherwise.
const { chromium } = require('playwright-core');

async function main() {
  const [urlA, urlB, shot, title] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const a = await browser.newPage();
    const b = await browser.newPage();
    await a.goto(urlA);
    await b.goto(urlB);
    await a.waitForSelector('#status:has-text("live")', { timeout: 10000 });
    await b.waitForSelector('#status:has-text("live")', { timeout: 10000 });
    await a.fill('#title', title);
    await a.click('#addButton');
    await b.waitForSelector(`li:has-text("${title}")`, { timeout: 10000 });
    const tag = await b.textContent(`li:has-text("${title}") .tag`);
    if (!tag || !tag.startsWith('from ')) throw new Error(`todo on B is not marked as synced: ${tag}`);
    await b.screenshot({ path: shot, fullPage: true });
    console.log(`ok: "${title}" created on ${urlA} appeared on ${urlB} (${tag})`);
  } finally {
    await browser.close();
  }
}

main().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });

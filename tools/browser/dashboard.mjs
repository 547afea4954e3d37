// The dashboard in headless Chromium (Debian's chromium, driven by playwright-core), against
// a server loaded with the small demo book. Run by the cli crate's test
// `the_dashboard_in_a_real_browser`, which passes what it set up through the environment:
//   URL, CHROMIUM, SHOTS (a directory for screenshots), EXPECTED (GetPoolPosition's figures,
//   JSON), OFFICER_KEY, OFFICER2_KEY, BANK_KEY, AUDITOR_KEY, BANK_NAME, OTHER_BANK, REFERRED,
//   CLAIM.
// Exits 0 when every check holds; otherwise prints the first that failed and exits 1.

import { chromium } from 'playwright-core';

const env = process.env;
const expected = JSON.parse(env.EXPECTED);
const failures = [];
function check(condition, what) {
  if (!condition) {
    failures.push(what);
    throw new Error(what);
  }
}

const browser = await chromium.launch({ executablePath: env.CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
const page = await context.newPage();
const shot = (name) => page.screenshot({ path: `${env.SHOTS}/${name}.png`, fullPage: true });
const go = (path) => page.goto(env.URL + path);
async function login(key) {
  await go('/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForLoadState('load'), page.click('form[action="/login"] button')]);
}
async function logout() {
  await Promise.all([page.waitForURL(/\/login/), page.click('form[action="/logout"] button')]);
}

try {
  // A wrong key is refused, in Chinese.
  await login('key-0000.wrong');
  check((await page.textContent('.error')).includes('密钥无效'), 'a wrong key is refused');
  await shot('01-login-refused');

  // The officer's overview shows GetPoolPosition's figures.
  await login(env.OFFICER_KEY);
  check(page.url() === env.URL + '/', `signed in to the overview, not ${page.url()}`);
  for (const field of ['net_pool_assets', 'covered_outstanding', 'pool_exposure', 'headroom']) {
    const shown = (await page.textContent(`dd[data-field="${field}"]`)).trim();
    check(shown === expected[field], `overview ${field} ${shown} = GetPoolPosition's ${expected[field]}`);
  }
  check((await page.textContent('main')).includes('资金池净资产'), 'the overview is in Chinese');
  check((await page.textContent('main')).includes('万'), 'amounts in 万元 where officials expect them');
  await shot('02-overview');

  // History: each closed month of the demo book, drawn by ECharts.
  await go('/history');
  check((await page.locator('#history tbody tr').count()) === Number(env.HISTORY_MONTHS), `the history shows ${env.HISTORY_MONTHS} closed months`);
  await page.waitForSelector('#chart-assets canvas');
  check((await page.locator('canvas').count()) >= 4, 'the four charts are drawn');
  await shot('02b-history');

  await go('/banks');
  check((await page.textContent('#banks')).includes(env.BANK_NAME), 'the banks table shows display names');
  await shot('03-banks');
  await go(`/${env.OTHER_BANK}`);
  await shot('04-bank');

  // Approve a referred application: it leaves the queue.
  await go('/queues');
  const referral = page.locator(`tr[data-application="${env.REFERRED}"]`);
  check((await referral.count()) === 1, 'the referred application is in the queue');
  await shot('05-queues');
  await referral.locator('input[name="reason"]').fill('经营稳健，同意');
  await Promise.all([page.waitForURL(/done=1/), referral.locator('button[value="approve"]').click()]);
  check((await page.locator(`tr[data-application="${env.REFERRED}"]`).count()) === 0, 'the approved application left the queue');

  // A claim above the four-eyes threshold: the first approval leaves it waiting for a
  // second officer; the same officer cannot give the second.
  const claim = () => page.locator(`tr[data-claim="${env.CLAIM}"]`);
  await claim().locator('input[name="reason"]').fill('材料齐全');
  await Promise.all([page.waitForURL(/done=1/), claim().locator('button[value="approve"]').click()]);
  check((await claim().locator('.second-needed').count()) === 1, 'the page says a second approver is needed');
  await claim().locator('input[name="reason"]').fill('再次批准');
  await Promise.all([page.waitForLoadState('load'), claim().locator('button[value="approve"]').click()]);
  check((await page.textContent('#action-error')).includes('different risk officer'), 'the same officer cannot approve twice');
  await shot('06-four-eyes');

  // Stress test.
  await go('/stress');
  await page.fill('input[name="default_rate"]', '0.05');
  await page.fill('input[name="loss_rate"]', '0.6');
  await page.fill('input[name="grade_BB"]', '0.2');
  await Promise.all([page.waitForLoadState('load'), page.click('form[action="/stress"] button')]);
  check((await page.locator('#stress-result').count()) === 1, 'the stress test shows its result');
  await shot('07-stress');

  // Statements: the CSV starts with a byte order mark; the printable one is Chinese with the
  // bank's name.
  await go('/statements');
  await shot('08-statements');
  const first = await page.locator('#statements tbody tr a').first().getAttribute('href');
  await go(first);
  await shot('09-statement');
  const csv = await page.request.get(`${env.URL}${first}/csv`);
  const bytes = await csv.body();
  check(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, 'the CSV starts with a UTF-8 BOM');
  await go(`${first}/print`);
  const printed = await page.textContent('body');
  check(printed.includes('结算单') && printed.includes('银行'), 'the printable statement is in Chinese with the bank name');
  await shot('10-statement-print');

  await go('/reconciliation');
  await shot('11-reconciliation');
  const report = await page.locator('#reports tbody tr a').first().getAttribute('href');
  await go(`${report}?kind=BALANCE_MISMATCH`);
  await shot('12-discrepancies');

  // The English switch.
  await go('/');
  await Promise.all([page.waitForLoadState('load'), page.click('a[href="/lang/en"]')]);
  check((await page.textContent('header')).includes('Pool overview'), 'English on request');
  await shot('13-overview-en');
  await Promise.all([page.waitForLoadState('load'), page.click('a[href="/lang/zh"]')]);

  // A session that ended is refused.
  const cookies = await context.cookies();
  await logout();
  await context.addCookies(cookies.filter((c) => c.name === 'tc_session'));
  await go('/');
  check(page.url().includes('/login') && (await page.textContent('.error')).includes('会话已过期'), 'an ended session is refused');

  // The second officer completes the claim.
  await login(env.OFFICER2_KEY);
  await go('/queues');
  await claim().locator('input[name="reason"]').fill('第二位风险官批准');
  await Promise.all([page.waitForURL(/done=1/), claim().locator('button[value="approve"]').click()]);
  check((await claim().count()) === 0, 'the claim left the queue after the second approval');
  check(!(await page.textContent('header')).includes('审计'), 'the audit page is not offered to an officer');
  await logout();

  // The auditor reads the trail: the chain is whole, and the claim's approvals are there,
  // the same officer's second try refused.
  await login(env.AUDITOR_KEY);
  await go(`/audit?method=ApproveClaim&resource=${encodeURIComponent(env.CLAIM)}`);
  check((await page.textContent('#verdict')).includes('审计链完整'), 'the audit chain is unbroken');
  const approvals = await page.textContent('#audit tbody');
  check((approvals.match(/已执行/g) || []).length === 2, 'two approvals accepted in the trail');
  check(approvals.includes('已拒绝') && approvals.includes('SAME_APPROVER'), 'the same officer refused, in the trail');
  await shot('13b-audit');
  await logout();

  // A bank's key sees only its own bank.
  await login(env.BANK_KEY);
  check((await page.textContent('#bank-name')).includes(env.BANK_NAME), 'a bank signs in to its own page');
  // Its claim, decided by the two officers: 1,680,000.00, the whole entitlement.
  const decided = page.locator(`tr[data-claim-row="${env.CLAIM}"]`);
  check((await decided.locator('td.compensation').textContent()).includes('1,680,000.00'), 'the claim shows its compensation');
  check((await decided.locator('td.bound-by').textContent()).includes('全额'), 'the claim says nothing cut it');
  await go(`/${env.OTHER_BANK}`);
  check((await page.textContent('main')).includes('NOT_FOUND'), 'another bank is not found for a bank key');
  await go('/banks');
  check(!(await page.textContent('main')).includes(env.OTHER_BANK), 'the banks page shows only its own bank');
  await shot('14-bank-view');
} catch (error) {
  if (failures.length === 0) failures.push(String(error));
  await shot('zz-failure').catch(() => {});
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`dashboard check failed: ${failures[0]}`);
  process.exit(1);
}
console.log('dashboard: every check held');

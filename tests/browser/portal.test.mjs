/*
 * vix-portal in a real browser: a real vixd --dev and real portals for
 * org-a and org-b on its development material, serving the NL Design
 * System's style sheets from web/node_modules. Professionals of two
 * organisations register the same youth through the register form and
 * both see the match; the coordinators claim it and mark it coordinated,
 * and the other organisation sees by whom. A bad BSN is shown next to its
 * field, a form without its CSRF token is refused, the register form works
 * by keyboard alone. Every page is screenshot and checked by axe-core, and
 * no page holds a BSN.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	checkAccessibility, closeBrowser, launchBrowser, openPage, redacted,
	screenshot, startPortal, startVixd, syntheticBsns, waitFor,
} from './harness.mjs';

const BIRTH = '2015-03-01';
const KEYED_BIRTH = '2015-03-03';	/* typed as the digits below */
const KEYED_DIGITS = '03032015';
const NOTE_MS = 15000;		/* a notification reaches the portal */
const TEST_MS = 90000;		/* one of the shorter tests */

const youths = syntheticBsns().slice(200, 202);
const [YOUTH, YOUTH_KEYS] = youths;
/* The first youth's number with its last digit changed fails the 11-test. */
const BAD_BSN = YOUTH.slice(0, 8) + String((Number(YOUTH[8]) + 1) % 10);
const ALL_BSNS = [...youths, BAD_BSN];

let browser;
let vixd;
let portals = {};

before(async () => {
	browser = await launchBrowser();
	vixd = await startVixd();
	portals['org-a'] = await startPortal(vixd, 'org-a');
	portals['org-b'] = await startPortal(vixd, 'org-b');
});

after(async () => {
	await closeBrowser(browser);
	if (vixd === undefined)
		return;		/* before() failed and said why */
	const started = Object.values(portals);
	const results = await Promise.allSettled(started.map((p) => p.stop()));
	const logs = vixd.log() + started.map((p) => p.log()).join('');
	portals = {};
	await vixd.stop();
	assert.ok(!ALL_BSNS.some((bsn) => logs.includes(bsn)),
	    'a BSN in the log of vixd or a portal');
	for (const r of results)
		if (r.status === 'rejected')
			throw r.reason;
});

/*
 * What Chromium reports as errors on a page other than the status of the
 * page itself (a 403 or 422 is the answer the test wants): a style sheet
 * the Content-Security-Policy refused, a script error.
 */
function realProblems(problems) {
	const own = new RegExp('^Failed to load resource: the server ' +
	    'responded with a status of (403|422)');

	return problems.filter((p) => !own.test(p));
}

/*
 * The checks every page gets: no BSN in its HTML, no error in it, a
 * screenshot and axe-core with no serious or critical violation.
 */
async function checkPage(user, name) {
	const html = await user.page.content();

	assert.ok(!ALL_BSNS.some((bsn) => html.includes(bsn)),
	    `a BSN on the page ${name}`);
	assert.deepEqual(realProblems(user.problems), [],
	    `errors in the page ${name}`);
	await screenshot(user.page, name);
	await checkAccessibility(user.page, name);
}

/* Run action (a click, a key) and wait for the page it loads. */
async function navigate(page, action) {
	const [response] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		action(),
	]);
	return response;
}

async function visit(user, path) {
	const response = await user.page.goto(user.portal.url + path,
	    { waitUntil: 'load' });
	assert.equal(response.status(), 200, `GET ${path}`);
	return response;
}

/* A new browser context (its own cookies) logged in as name. */
async function login(portal, name, shoot) {
	const { page, response, problems } = await openPage(browser,
	    portal.url + '/login');
	const user = { page, problems, portal, name };

	assert.equal(response.status(), 200, 'GET /login');
	if (shoot)
		await checkPage(user, 'portal-login');
	await page.selectOption('#login-form #user', name);
	const landed = await navigate(page, () =>
	    page.click('#login-form button[type=submit]'));
	assert.equal(landed.status(), 200);
	assert.match(page.url(), /\/matches$/, 'login leads to /matches');
	assert.match(await page.locator('.portal-user').innerText(),
	    new RegExp(name.replace('.', '\\.')));
	return user;
}

/* Fill the register form with bsn and submit it: the response. */
async function register(user, bsn, reference) {
	const { page } = user;

	await visit(user, '/register');
	await page.fill('#bsn', bsn);
	await page.fill('#birth_date', BIRTH);
	await page.fill('#reference', reference);
	return navigate(page, () =>
	    page.click('#register-form button[type=submit]'));
}

/* The page after a registration: done, and the BSN field empty. */
async function assertRegistered(user) {
	assert.ok(await user.page.locator('#registered').isVisible(),
	    'no #registered after the form was sent');
	assert.ok(await user.page.inputValue('#bsn') === '',
	    'the BSN field is filled in after submission');
}

/* The match row of the matches table on the page, by its other party. */
function matchRow(page, table, org) {
	return page.locator(`#${table} tr[data-match]`)
	    .filter({ has: page.locator(`li[data-org="${org}"]`) });
}

test('the style sheets of the NL Design System apply', { timeout: TEST_MS },
    redacted(async () => {
	const { page, problems } = await openPage(browser,
	    portals['org-a'].url + '/login');

	const sheets = await page.evaluate(() => [...document.styleSheets]
	    .map((s) => ({ href: new URL(s.href).pathname,
		rules: s.cssRules.length })));
	assert.deepEqual(sheets.map((s) => s.href), ['/static/utrecht.css',
	    '/static/theme.css', '/static/portal.css']);
	/* The components are hundreds of rules; the theme is one, of tokens. */
	assert.ok(sheets[0].rules > 100,
	    `utrecht.css has ${sheets[0].rules} rules`);
	for (const s of sheets)
		assert.ok(s.rules > 0, `${s.href} is empty`);
	const bg = await page.$eval('#login-form button',
	    (b) => getComputedStyle(b).backgroundColor);
	/* Chromium's own button is light grey; the theme's primary is not. */
	assert.notEqual(bg, 'rgb(239, 239, 239)', 'the button is unstyled');
	assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'the button is unstyled');
	/* Text, labels and controls in the theme's font, not the browser's. */
	for (const sel of ['body', '.portal-brand', '#login-form label',
	    '#login-form select', '#login-form button']) {
		const font = await page.$eval(sel,
		    (e) => getComputedStyle(e).fontFamily);
		assert.match(font, /^"Noto Sans"/, `${sel} is in ${font}`);
	}
	const h1 = await page.$eval('h1',
	    (e) => getComputedStyle(e).fontFamily);
	assert.match(h1, /^"Noto Serif"/, `the heading is in ${h1}`);
	assert.deepEqual(problems, [], 'errors in the page');
	await page.context().close();
}));

test('two organisations match and coordinate through their pages',
    { timeout: 180000 }, redacted(async () => {
	const a = await login(portals['org-a'], 'a.jansen', true);
	const b = await login(portals['org-b'], 'b.devries');

	/* a.jansen registers the youth; nobody else has yet. */
	await visit(a, '/register');
	await checkPage(a, 'portal-register');
	let r = await register(a, YOUTH, 'dossier-a1');
	assert.equal(r.status(), 200, 'register as a.jansen');
	await assertRegistered(a);
	await checkPage(a, 'portal-registered');

	/* b.devries registers the same youth and is told of org-a. */
	r = await register(b, YOUTH, 'dossier-b1');
	assert.equal(r.status(), 200, 'register as b.devries');
	await assertRegistered(b);
	assert.ok(await b.page.locator('li[data-org="org-a"]')
	    .filter({ hasText: 'A. Jansen' }).isVisible(),
	    'org-b is not told of org-a\'s contact on registering');
	await checkPage(b, 'portal-registered-match');

	/* Both matches pages show the other organisation's contact. */
	await visit(a, '/matches');
	const rowA = matchRow(a.page, 'matches', 'org-b');
	assert.equal(await rowA.count(), 1, 'org-a sees no match with org-b');
	const otherB = await rowA.locator('li[data-org="org-b"]').innerText();
	assert.match(otherB, /B\. de Vries/);
	assert.match(otherB, /0201234567/);
	assert.match(await rowA.innerText(), /dossier-a1/);
	assert.equal(await rowA.locator('button').count(), 0,
	    'a professional is offered coordination');
	await checkPage(a, 'portal-matches');
	await visit(b, '/matches');
	const rowB = matchRow(b.page, 'matches', 'org-a');
	const otherA = await rowB.locator('li[data-org="org-a"]').innerText();
	assert.match(otherA, /A\. Jansen/);
	assert.match(otherA, /0501234567/);
	const id = await rowB.getAttribute('data-match');
	assert.match(id, /^[0-9]+$/);
	const orgAName = await rowB.locator('li[data-org="org-a"] strong')
	    .innerText();
	await checkPage(b, 'portal-matches-b');

	/*
	 * org-a coordinates by its rank; org-b's coordinator claims the
	 * match, so that org-a's has one to claim back.
	 */
	const bc = await login(portals['org-b'], 'b.visser');
	await visit(bc, '/matches');
	await navigate(bc.page, () => matchRow(bc.page, 'matches', 'org-a')
	    .locator('button[name=action][value=claim]').click());
	assert.ok(await bc.page.locator('#coordinated').isVisible(),
	    'the claim by b.visser was not done');
	assert.equal(await matchRow(bc.page, 'matches', 'org-a')
	    .locator('[data-coordinator]').getAttribute('data-coordinator'),
	    'org-b');

	/* org-a's coordinator finds it on the worklist and claims it. */
	const ac = await login(portals['org-a'], 'a.smit');
	await visit(ac, '/worklist');
	const work = ac.page.locator(`#worklist tr[data-match="${id}"]`);
	assert.equal(await work.count(), 1, 'the match is not on the worklist');
	assert.equal(await work.locator('[data-coordinator]')
	    .getAttribute('data-coordinator'), 'org-b');
	await checkPage(ac, 'portal-worklist');
	await navigate(ac.page, () =>
	    work.locator('button[name=action][value=claim]').click());
	assert.ok(await ac.page.locator('#coordinated').isVisible(),
	    'the claim by a.smit was not done');
	const mine = ac.page.locator(`#matches tr[data-match="${id}"]`);
	assert.equal(await mine.locator('[data-coordinator]')
	    .getAttribute('data-coordinator'), 'org-a');
	await navigate(ac.page, () =>
	    mine.locator('button[name=action][value=coordinated]').click());
	assert.ok(await ac.page.locator('#coordinated').isVisible());
	assert.equal(await mine.locator('[data-state]')
	    .getAttribute('data-state'), 'coordinated');
	await checkPage(ac, 'portal-coordinated');
	await visit(ac, '/worklist');
	assert.equal(await ac.page.locator('#worklist tr[data-match]').count(),
	    0, 'a coordinated match is still on the worklist');

	/* b.devries reloads and sees it coordinated, and by whom. */
	await b.page.reload({ waitUntil: 'load' });
	const seen = b.page.locator(`#matches tr[data-match="${id}"]`);
	assert.equal(await seen.locator('[data-state]')
	    .getAttribute('data-state'), 'coordinated');
	const by = seen.locator('[data-coordinator]');
	assert.equal(await by.getAttribute('data-coordinator'), 'org-a');
	assert.equal((await by.innerText()).trim(), orgAName,
	    'the coordinator is not named');

	/* ... and was told of it: the notifications page. */
	await waitFor('COORDINATOR_ASSIGNED on org-b\'s notifications page',
	    NOTE_MS, async () => {
		await visit(b, '/notifications');
		const n = await b.page.locator('#notifications ' +
		    'tr[data-type="COORDINATOR_ASSIGNED"]').count();
		return n > 0 ? true : undefined;
	});
	assert.ok(await b.page.locator('#notifications ' +
	    'tr[data-type="MATCH_CREATED"]').count() > 0);
	await checkPage(b, 'portal-notifications');

	/* My signals: the registration, with its withdraw form. */
	await visit(b, '/signals');
	const sig = b.page.locator('#signals tr[data-signal]')
	    .filter({ hasText: 'dossier-b1' });
	assert.equal(await sig.count(), 1, 'the signal is not on /signals');
	assert.equal(await sig.locator('button[value=withdraw]').count(), 1);
	await checkPage(b, 'portal-signals');

	for (const u of [a, b, ac, bc])
		await u.page.context().close();
}));

test('a bad BSN is shown next to its field and never echoed',
    { timeout: TEST_MS }, redacted(async () => {
	const a = await login(portals['org-a'], 'a.jansen');
	const r = await register(a, BAD_BSN, 'dossier-bad');
	const { page } = a;

	assert.equal(r.status(), 422, 'a BSN failing the 11-test is accepted');
	const body = await r.text();
	assert.ok(!body.includes(BAD_BSN), 'the bad BSN is in the answer');
	const error = page.locator('#bsn-error');
	assert.ok(await error.isVisible(), 'no visible #bsn-error');
	assert.match(await error.innerText(), /elfproef/);
	/* Next to its field: in the BSN's form field, tied to the input. */
	const field = page.locator('.utrecht-form-field').filter({
	    has: page.locator('#bsn') });
	assert.ok(await field.locator('#bsn-error').count() === 1,
	    '#bsn-error is not in the BSN field\'s wrapper');
	assert.match(await field.getAttribute('class'),
	    /utrecht-form-field--invalid/);
	const described = await page.getAttribute('#bsn', 'aria-describedby');
	assert.ok(described.split(' ').includes('bsn-error'),
	    `#bsn is described by "${described}", not bsn-error`);
	assert.equal(await page.getAttribute('#bsn', 'aria-invalid'), 'true');
	assert.ok(await page.inputValue('#bsn') === '',
	    'the BSN field is filled in again');
	/* The other fields are kept. */
	assert.equal(await page.inputValue('#reference'), 'dossier-bad');
	assert.equal(await page.inputValue('#birth_date'), BIRTH);
	assert.ok(await page.locator('#form-errors').isVisible());
	await checkPage(a, 'portal-register-error');
	await page.context().close();
}));

test('a form without its CSRF token is refused with 403',
    { timeout: TEST_MS }, redacted(async () => {
	const a = await login(portals['org-a'], 'a.jansen');
	const { page } = a;

	await visit(a, '/register');
	await page.fill('#bsn', YOUTH);
	await page.fill('#birth_date', BIRTH);
	assert.equal(await page.evaluate(() => {
		const f = document.querySelectorAll(
		    '#register-form input[name="csrf"]');
		f.forEach((e) => e.remove());
		return f.length;
	}), 1, 'the register form has no one csrf field to remove');
	const r = await navigate(page, () =>
	    page.click('#register-form button[type=submit]'));
	assert.equal(r.status(), 403, 'a form without its token is accepted');
	assert.match(await page.locator('main').innerText(), /CSRF/);
	await checkPage(a, 'portal-forbidden');

	/* With its token the same form goes through. */
	const ok = await register(a, YOUTH, '');
	assert.equal(ok.status(), 200, 'the form with its token');
	await assertRegistered(a);
	await page.context().close();
}));

/* The id (or else the tag) of the element that has the focus. */
function focused(page) {
	return page.evaluate(() => {
		const e = document.activeElement;
		return e.id || `${e.tagName.toLowerCase()}.${e.className}`;
	});
}

test('the register form works by keyboard alone', { timeout: TEST_MS },
    redacted(async () => {
	const a = await login(portals['org-a'], 'a.jansen');
	const { page } = a;
	const kb = page.keyboard;

	await visit(a, '/register');
	/* The skip link is the first thing Tab reaches, and leads to main. */
	await kb.press('Tab');
	assert.match(await focused(page), /^a\..*portal-skip/,
	    'the skip link is not the first focusable element');
	assert.ok(await page.locator('.portal-skip').isVisible(),
	    'the focused skip link is not visible');
	assert.equal(await page.getAttribute('.portal-skip', 'href'), '#main');
	await kb.press('Enter');
	assert.equal(await focused(page), 'main', 'the skip link does not ' +
	    'move the focus to main');

	/* Then the form's fields in order, typed into. */
	const order = [];
	await kb.press('Tab');
	order.push(await focused(page));
	await kb.type(YOUTH_KEYS);
	await kb.press('Tab');
	order.push(await focused(page));
	/*
	 * A date field takes its parts in the order of Chromium's locale
	 * (d-m-y or m-d-y: the day and month are the same here), and Tab
	 * goes through its parts before it leaves the field.
	 */
	await kb.type(KEYED_DIGITS);
	for (let i = 0; i < 8 && order.length < 7; i++) {
		await kb.press('Tab');
		const now = await focused(page);
		if (now !== order.at(-1))
			order.push(now);
	}
	await kb.type('kb-1');
	assert.deepEqual(order, ['bsn', 'birth_date', 'duration',
	    'contact_name', 'contact_phone', 'contact_email', 'reference'],
	    'the focus order of the register form');
	assert.equal(await page.inputValue('#birth_date'), KEYED_BIRTH,
	    'the birth date typed by keyboard');
	const r = await navigate(page, () => kb.press('Enter'));
	assert.equal(r.status(), 200, 'the form sent by Enter');
	await assertRegistered(a);
	await page.context().close();
}));

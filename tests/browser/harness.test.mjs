/*
 * The browser-test harness itself: a real vixd seen through Chromium, the
 * accessibility check failing on a page that breaks the rules and passing
 * on one that keeps them, and the NL Design System style sheets the portal
 * serves, from the paths docs/testing.md gives.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import {
	STYLESHEETS, checkAccessibility, closeBrowser, launchBrowser, openPage,
	screenshot, startVixd, syntheticBsns,
} from './harness.mjs';

let browser;

before(async () => {
	browser = await launchBrowser();
});

after(async () => {
	await closeBrowser(browser);
});

test('a real vixd: its admin listener in the browser', async () => {
	const vixd = await startVixd();
	const youths = syntheticBsns().slice(0, 2);

	try {
		await vixd.register('org-a', youths);
		await vixd.register('org-b', youths);
		const { page, response } = await openPage(browser,
		    vixd.admin + '/v1/status');
		assert.equal(response.status(), 200);
		const status = await response.json();
		assert.equal(status.counts.signals, 4);
		assert.equal(status.counts.matches, 2);
		const file = await screenshot(page, 'harness-admin-status');
		assert.ok(fs.statSync(file).size > 1000, 'an empty screenshot');
	} finally {
		await vixd.stop();
	}
	assert.equal(fs.existsSync(vixd.dir), false, 'its folder is left');
});

/* A form field without a label, an image without text: both serious. */
const BROKEN = `<!doctype html><html lang="en"><head><title>broken</title>
</head><body><main><h1>Broken</h1><img src="data:image/gif;base64,R0lGODlh
AQABAAAAACw=" width="10" height="10"><input type="text" name="bsn">
</main></body></html>`;

test('the accessibility check fails on serious violations', async () => {
	const { page } = await openPage(browser);

	await page.setContent(BROKEN);
	await assert.rejects(checkAccessibility(page, 'harness-broken'),
	    (e) => /critical image-alt/.test(e.message) &&
	    /critical label/.test(e.message));
});

const STYLED = `<!doctype html><html lang="nl"><head><title>Aanmelden</title>
</head><body class="voorbeeld-theme utrecht-document">
<main class="utrecht-page"><h1 class="utrecht-heading-1">Aanmelden</h1>
<form><div class="utrecht-form-field">
<label class="utrecht-form-label" for="reference">Kenmerk</label>
<input class="utrecht-textbox utrecht-textbox--html-input" id="reference"
 name="reference"></div>
<button class="utrecht-button utrecht-button--primary-action"
 type="submit">Versturen</button></form></main></body></html>`;

test('the NL Design System style sheets apply and pass the check',
    async () => {
	const { page } = await openPage(browser);

	await page.setContent(STYLED);
	const plain = await page.$eval('button',
	    (b) => getComputedStyle(b).backgroundColor);
	for (const sheet of STYLESHEETS)
		await page.addStyleTag({ path: sheet });
	const look = await page.$eval('button', (b) => ({
		bg: getComputedStyle(b).backgroundColor,
		font: getComputedStyle(b).fontFamily,
	}));
	assert.notEqual(look.bg, plain, 'the theme did not style the button');
	assert.match(look.font, /Noto Sans/);
	await screenshot(page, 'harness-styled');
	await checkAccessibility(page, 'harness-styled');
});

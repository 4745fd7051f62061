/*
 * The operator's status page (GET / on vixd's admin listener) in a real
 * browser after some load: its sections (#health, #store, #plots), plots
 * drawn as inline SVG (.vix-plot svg) with data in them, no error in the
 * page, no BSN, no serious accessibility violation; and a screenshot.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	checkAccessibility, closeBrowser, launchBrowser, openPage, screenshot,
	startVixd, syntheticBsns, waitFor,
} from './harness.mjs';

/* A sample is taken every status interval (10 s), drawn after two. */
const PLOTTED_MS = 60000;

let browser;

before(async () => {
	browser = await launchBrowser();
});

after(async () => {
	await closeBrowser(browser);
});

/* Reload until a plot has a data mark in it; the number of such plots. */
async function waitForData(page) {
	return waitFor('a plot with data on the status page', PLOTTED_MS,
	    async () => {
		await page.reload({ waitUntil: 'load' });
		const n = await page.locator('#plots .vix-plot svg')
		    .filter({ has: page.locator('polyline, circle, path') })
		    .count();
		if (n > 0)
			return n;
		await page.waitForTimeout(2000);
		return undefined;
	});
}

test('the status page shows plots after some load', { timeout: 180000 },
    async () => {
	const vixd = await startVixd();
	const youths = syntheticBsns().slice(100, 130);

	try {
		await vixd.register('org-a', youths);
		await vixd.register('org-b', youths.slice(0, 10));
		const { page, response, problems } = await openPage(browser,
		    vixd.admin + '/');
		assert.equal(response.status(), 200, 'GET / on the admin ' +
		    `listener answered ${response.status()}, not the page`);
		assert.match(response.headers()['content-type'], /^text\/html/);
		for (const id of ['health', 'store', 'plots'])
			assert.ok(await page.locator(`#${id}`).isVisible(),
			    `no visible #${id} section`);
		assert.ok(await page.locator('#plots .vix-plot svg').count() >= 1,
		    'no plot (.vix-plot svg) in #plots');
		assert.ok(await waitForData(page) >= 1);
		const html = await page.content();
		assert.ok(!youths.some((bsn) => html.includes(bsn)),
		    'a BSN on the status page');
		assert.deepEqual(problems, [], 'errors in the page');
		await screenshot(page, 'status-page');
		await checkAccessibility(page, 'status-page');
	} finally {
		await vixd.stop();
	}
});

/*
 * Browser-test harness: a real vixd --dev in a temporary folder on ports
 * the kernel picks, the real vix CLI to put load on it, Debian's headless
 * Chromium driven by playwright-core, screenshots written as test
 * artefacts, and axe-core run in the page.
 *
 * Every wait is bounded. Whatever a test started (vixd, Chromium) is
 * killed and every temporary folder removed when the process ends, also
 * after a failure, an exception or SIGTERM from the test runner.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const CHROMIUM = '/usr/bin/chromium';

function env(name) {
	const v = process.env[name];
	if (v === undefined || v === '')
		throw new Error(`${name} is not set; run the browser tests ` +
		    'through meson: meson test -C build --suite browser');
	return v;
}

const SOURCE_ROOT = env('VIX_SOURCE_ROOT');
const WEB = path.join(SOURCE_ROOT, 'web');
/* web/node_modules, not this folder's parents, holds the tools. */
const webRequire = createRequire(path.join(WEB, 'package.json'));
const { chromium } = webRequire('playwright-core');
const AXE_SOURCE = fs.readFileSync(webRequire.resolve('axe-core/axe.min.js'),
    'utf8');

/* Where screenshots and axe reports go: BUILD/test-artefacts/browser. */
export const ARTEFACTS = env('VIX_ARTEFACTS');

/* The style sheets the portal serves, as web/node_modules has them. */
export const STYLESHEETS = [
	webRequire.resolve('@utrecht/component-library-css/dist/index.css'),
	webRequire.resolve(
	    '@nl-design-system-unstable/voorbeeld-design-tokens/dist/theme.css'),
];

const STARTUP_MS = 20000;	/* vixd up and ready */
const STOP_MS = 15000;		/* vixd gone after SIGTERM */
const CLI_MS = 30000;		/* one vix command */
const PAGE_MS = 15000;		/* one page action or navigation */

/* What is still to be killed or removed when the process ends. */
const children = new Set();
const folders = new Set();
const browsers = new Set();

function cleanupNow() {
	for (const child of children) {
		try {
			process.kill(child.pid, 'SIGKILL');
		} catch {
			/* gone already */
		}
	}
	children.clear();
	for (const dir of folders)
		fs.rmSync(dir, { recursive: true, force: true });
	folders.clear();
}

/*
 * On a signal (the test runner's timeout, ^C): close the browsers, for
 * Chromium to remove its profile, at most for a while, then the rest.
 */
async function onSignal(sig) {
	await Promise.race([
		Promise.allSettled([...browsers].map((b) => b.close())),
		sleep(5000),
	]);
	cleanupNow();
	process.exit(128 + os.constants.signals[sig]);
}

process.on('exit', cleanupNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
	process.on(sig, onSignal);

/* Every run of 9 or more digits as '#': output can never show a BSN. */
export function redact(text) {
	return String(text).replace(/[0-9]{9,}/g, '#');
}

/* A temporary folder, removed when the process ends if not before. */
export function tempFolder(prefix) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	folders.add(dir);
	return dir;
}

export function removeFolder(dir) {
	fs.rmSync(dir, { recursive: true, force: true });
	folders.delete(dir);
}

/* The synthetic BSNs (99999xxxx) of tests/data, never real ones. */
export function syntheticBsns() {
	const file = path.join(env('VIX_TESTDATA'), 'bsn-valid.txt');
	return fs.readFileSync(file, 'utf8').split('\n')
	    .filter((l) => /^[0-9]{9}$/.test(l));
}

/* Poll fn (returning a value or undefined) every 50 ms for at most ms. */
export async function waitFor(what, ms, fn) {
	const end = Date.now() + ms;

	for (;;) {
		const v = await fn();
		if (v !== undefined)
			return v;
		if (Date.now() >= end)
			throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await sleep(50);
	}
}

/* GET url over loopback HTTP: { status, body }; bounded by ms. */
export function httpGet(url, ms = PAGE_MS) {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { timeout: ms }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('timeout', () => req.destroy(new Error(`GET ${url}: ` +
		    `no answer within ${ms} ms`)));
		req.on('error', reject);
	});
}

/*
 * A process this test started, under setpriv --pdeathsig KILL so that it
 * dies with the test even when the test is killed; its standard output
 * and error go to logPath.
 */
class Child {
	constructor(name, dir, logPath) {
		this.name = name;
		this.dir = dir;
		this.logPath = logPath;
		this.child = null;
		this.exit = null;	/* exit status once it ended */
	}

	log() {
		try {
			return fs.readFileSync(this.logPath, 'utf8');
		} catch {
			return '';
		}
	}

	logTail() {
		return redact(this.log().slice(-4000));
	}

	/* The address logged after what, once it has been. */
	logged(what) {
		const m = this.log().match(new RegExp(`${what} (\\S+)`));
		return m ? m[1] : undefined;
	}

	spawn(argv) {
		const fd = fs.openSync(this.logPath, 'w', 0o600);
		const child = spawn('/usr/bin/setpriv',
		    ['--pdeathsig', 'KILL', '--', ...argv],
		    { cwd: this.dir, stdio: ['ignore', fd, fd] });
		fs.closeSync(fd);
		children.add(child);
		this.exit = null;
		child.on('exit', (code, sig) => {
			this.exit = code ?? 128 + os.constants.signals[sig];
			children.delete(child);
		});
		this.child = child;
	}

	/* Wait until the log shows what (see logged); throws if it ended. */
	async waitLogged(what) {
		await waitFor(`${this.name} to log "${what}"`, STARTUP_MS, () => {
			if (this.exit !== null)
				throw new Error(`${this.name} exited with status ` +
				    this.exit);
			return this.logged(what);
		});
		return this.logged(what);
	}

	/*
	 * SIGTERM and wait (then SIGKILL); throws with the end of the log
	 * unless it exited with status 0.
	 */
	async stop() {
		if (this.child !== null && this.exit === null) {
			this.child.kill('SIGTERM');
			await waitFor(`${this.name} to stop`, STOP_MS, () =>
			    this.exit === null ? undefined : true)
			    .catch(() => this.child.kill('SIGKILL'));
			await waitFor(`${this.name} to be reaped`, STOP_MS, () =>
			    this.exit === null ? undefined : true);
		}
		if (this.exit !== 0)
			throw new Error(`${this.name} ended with status ` +
			    `${this.exit}; the end of its log:\n${this.logTail()}`);
	}
}

class Vixd extends Child {
	constructor(dir) {
		super('vixd', dir, path.join(dir, 'vixd.log'));
		this.devDir = path.join(dir, 'vix-dev');
		this.addr = null;	/* 127.0.0.1:PORT, the TLS listener */
		this.admin = null;	/* http://127.0.0.1:PORT, the admin listener */
	}

	async ready() {
		try {
			this.addr = await this.waitLogged('listening on');
			this.admin = 'http://' + await this.waitLogged(
			    'admin HTTP \\(metrics, health\\) on');
			await waitFor('/readyz to answer 200', STARTUP_MS,
			    async () => {
				const r = await httpGet(this.admin + '/readyz')
				    .catch(() => ({ status: 0 }));
				return r.status === 200 ? true : undefined;
			});
		} catch (e) {
			throw new Error(`${e.message}; vixd's log:\n` +
			    this.logTail());
		}
	}

	/*
	 * Stop vixd and remove its folder (with the portals' logs in it);
	 * throws with the end of its log unless it exited with status 0.
	 */
	async stop() {
		try {
			await super.stop();
		} finally {
			removeFolder(this.dir);
		}
	}

	/*
	 * Run the vix CLI as organisation org of the dev material:
	 * { status, stdout, stderr }. input goes to its standard input.
	 */
	vix(org, args, input = '') {
		const argv = ['--dev-dir', this.devDir, '--dev', org, '--server',
		    this.addr, ...args];
		return new Promise((resolve) => {
			const child = execFile(env('VIX'), argv,
			    { timeout: CLI_MS, killSignal: 'SIGKILL' },
			    (err, stdout, stderr) => resolve({
				status: err ? (err.code ?? 128) : 0, stdout, stderr,
			    }));
			child.stdin.end(input);
		});
	}

	/*
	 * Register each BSN (on standard input, never in the arguments) as
	 * org; throws, redacted, at the first refusal.
	 */
	async register(org, bsns) {
		for (const bsn of bsns) {
			const r = await this.vix(org, ['register', '--bsn', '-',
			    '--birth-date', '2015-03-01', '--contact-name',
			    `Contact ${org}`, '--contact-phone', '0501234567'],
			    bsn + '\n');
			if (r.status !== 0)
				throw new Error(`register as ${org}: exit ` +
				    `${r.status}: ${redact(r.stderr)}`);
		}
	}
}

/*
 * Start vixd --dev (extra arguments after ours) in a new temporary folder
 * and wait until /readyz answers 200. By default the pseudonyms are made
 * by vixd (--pseudonyms server), so no key holder is needed.
 */
export async function startVixd(extra = []) {
	const vixd = new Vixd(tempFolder('vix-browser-'));
	const args = extra.includes('--pseudonyms') ? extra :
	    [...extra, '--pseudonyms', 'server'];

	vixd.spawn([env('VIXD'), '--dev', '--data', vixd.devDir, '--listen',
	    '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args]);
	try {
		await vixd.ready();
	} catch (e) {
		await vixd.stop().catch(() => {});	/* e has its log */
		throw e;
	}
	return vixd;
}

class Portal extends Child {
	constructor(vixd, org) {
		super(`vix-portal for ${org}`, vixd.dir,
		    path.join(vixd.dir, `portal-${org}.log`));
		this.org = org;
		this.url = null;	/* http://127.0.0.1:PORT, no slash */
	}
}

/* Where the portal finds the NL Design System's CSS: web/node_modules. */
export const STATIC_DIR = path.join(WEB, 'node_modules');

/*
 * A real vix-portal in development mode for org (org-a, org-b) of vixd's
 * development material, on a port the kernel picks, serving the style
 * sheets from STATIC_DIR; resolves once it printed its address. Its log
 * is in vixd's folder; stop it before vixd.
 */
export async function startPortal(vixd, org) {
	const portal = new Portal(vixd, org);

	portal.spawn([env('VIX_PORTAL'), '--dev', '--org', org, '--dev-dir',
	    vixd.devDir, '--server', vixd.addr, '--listen', '127.0.0.1:0',
	    '--static-dir', STATIC_DIR]);
	try {
		portal.url = (await portal.waitLogged('vix-portal:'))
		    .replace(/\/$/, '');
	} catch (e) {
		await portal.stop().catch(() => {});
		throw new Error(`${e.message}; its log:\n${portal.logTail()}`);
	}
	return portal;
}

/*
 * fn with whatever it throws redacted (see redact): an assertion's actual
 * value or a browser's call log cannot show a BSN in the test's output.
 */
export function redacted(fn) {
	return async (...args) => {
		try {
			return await fn(...args);
		} catch (e) {
			throw new Error(redact(e?.stack ?? e));
		}
	};
}

/* Headless Chromium (Debian's); closed by closeBrowser or at exit. */
export async function launchBrowser() {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(`the browser tests need Chromium at ${CHROMIUM} ` +
		    '(Debian package chromium; scripts/test installs it)');
	/*
	 * playwright-core starts Chromium with --no-sandbox unless asked for
	 * the sandbox, which cannot run as root (as CI does).
	 */
	const browser = await chromium.launch({ executablePath: CHROMIUM,
	    headless: true, timeout: STARTUP_MS, handleSIGINT: false,
	    handleSIGTERM: false, handleSIGHUP: false });
	browsers.add(browser);
	return browser;
}

export async function closeBrowser(browser) {
	if (browser === undefined)
		return;
	browsers.delete(browser);
	await browser.close();
}

/*
 * Open url in a new context of browser. problems collects what the page
 * reported as errors (a style sheet the policy refused, a script error).
 */
export async function openPage(browser, url, options = {}) {
	const context = await browser.newContext({
		viewport: { width: 1280, height: 900 },
		locale: options.locale ?? 'nl-NL',
	});
	const page = await context.newPage();
	const problems = [];

	page.setDefaultTimeout(PAGE_MS);
	page.setDefaultNavigationTimeout(PAGE_MS);
	page.on('console', (m) => {
		if (m.type() === 'error')
			problems.push(redact(m.text()));
	});
	page.on('pageerror', (e) => problems.push(redact(e.message)));
	const response = url === undefined ? null :
	    await page.goto(url, { waitUntil: 'load' });
	return { page, response, problems };
}

function artefactPath(name, ext) {
	if (!/^[a-z0-9][a-z0-9._-]*$/.test(name))
		throw new Error(`artefact name "${name}": use a-z, 0-9, '.', '_', '-'`);
	fs.mkdirSync(ARTEFACTS, { recursive: true });
	return path.join(ARTEFACTS, `${name}.${ext}`);
}

/* The whole page as ARTEFACTS/name.png; returns its path. */
export async function screenshot(page, name) {
	const file = artefactPath(name, 'png');

	await page.screenshot({ path: file, fullPage: true, timeout: PAGE_MS });
	return file;
}

/*
 * Run axe-core in the page (WCAG 2.0/2.1 A and AA rules and best
 * practices); write the report to ARTEFACTS/name.axe.json and throw,
 * naming each rule and where, if any violation is serious or critical.
 * The script is evaluated through the debugging protocol, which the
 * page's Content-Security-Policy does not govern, so a page that refuses
 * inline script is checked as it is served.
 */
export async function checkAccessibility(page, name) {
	await page.evaluate(AXE_SOURCE);
	const result = await page.evaluate(() => window.axe.run(document,
	    { resultTypes: ['violations'] }));
	const bad = result.violations.filter((v) =>
	    v.impact === 'serious' || v.impact === 'critical');

	fs.writeFileSync(artefactPath(name, 'axe.json'),
	    JSON.stringify(result.violations, null, 1));
	if (bad.length > 0) {
		const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help} ` +
		    `(${v.nodes.slice(0, 3).map((n) => n.target.join(' '))
		    .join('; ')})`);
		throw new Error(`axe: ${bad.length} serious or critical ` +
		    `violation(s) on ${name}:\n  ${redact(lines.join('\n  '))}`);
	}
	return result.violations;
}

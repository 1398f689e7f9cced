/**
 * The playground as a user drives it, in real Chromium (playwright-core with Debian's Chromium;
 * no browser is downloaded):
 *  - from the Vite dev server, in the default in-browser mode (MSW + IndexedDB): create a key,
 *    encrypt a file, rotate, decrypt the old ciphertext under its older KeyMaterialId, watch an
 *    automatic rotation on the test clock, see an AWS error, fill a namespace and change its key
 *    to completion under the lock, reload and find everything still there;
 *  - in the same mode, a multi-Region key: create an mrk- key, replicate it to two Regions, rotate
 *    the primary, and find the new version (the same KeyMaterialIds) in every Region's timeline,
 *    each read by the page from its own Region (a client signing for it);
 *  - in the same mode, signatures: an ECC P-256 key signs a message, Verify says valid, and
 *    invalid once the message is edited; an HMAC key likewise with GenerateMac/VerifyMac;
 *  - from the real `npm start` server (its build, at /playground/), in remote mode against that
 *    server at the same origin: create a key there, and a multi-Region key replicated to a
 *    Region that the server keeps apart by the SigV4 credential scope.
 * Screenshots go to test/artifacts/playground.png (in-browser), playground-multi-region.png,
 * playground-sign.png and playground-remote.png.
 * Run: npx vitest run test/playground
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMS } from '@aws-sdk/client-kms';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vite.config.js';
import { DUMMY_CREDENTIALS, REPO_ROOT, spawnKmsServer, type KmsServer } from '../helpers/server.js';

const ARTIFACTS = join(REPO_ROOT, 'test/artifacts');

let vite: ViteDevServer;
let browser: Browser;
let devUrl: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  vite = await createServer({
    configFile: join(REPO_ROOT, 'playground/vite.config.ts'),
    logLevel: 'silent',
    // No file watching: other work on the repository must not reload the page mid-test.
    server: { port: 0, host: '127.0.0.1', watch: null, hmr: false },
  });
  await vite.listen();
  const address = vite.httpServer!.address();
  devUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/playground/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await vite?.close();
});

/** Opens a fresh profile (empty IndexedDB, no service worker) on the page; page errors fail the test. */
async function openPage(url: string, mode: 'mock' | 'remote'): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector(`body[data-ready="${mode}"]`, { timeout: 30_000 });
  return { page, errors, close: () => context.close() };
}

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();

const keyRow = (page: Page, description: string) => page.locator('#keys-table tbody tr', { hasText: description });

/** The newest message; fails with the page's error message if the last action failed. */
async function lastMessage(page: Page): Promise<string> {
  const first = page.locator('#messages li').first();
  await first.waitFor();
  const msg = ((await first.textContent()) ?? '').replace(/×$/, '');
  if ((await first.getAttribute('class'))?.includes('error')) throw new Error(`the page reported: ${msg}`);
  return msg;
}

/** Clicks a button and waits until the action it started has finished (the button is no longer busy). */
async function act(page: Page, selector: string): Promise<void> {
  const button = page.locator(selector);
  await button.click();
  await page.waitForFunction((s) => !document.querySelector(s)?.hasAttribute('aria-busy'), selector, { timeout: 30_000 });
}

/** Each Region column of the selected multi-Region key: its Region, role and KeyMaterialIds (oldest first). */
async function regionTimelines(page: Page): Promise<{ region: string; role: string; ids: string[]; current: string | null }[]> {
  return page.$$eval('#region-timelines .region', (columns) =>
    columns.map((c) => ({
      region: (c as HTMLElement).dataset.region ?? '',
      role: (c as HTMLElement).dataset.role ?? '',
      ids: [...c.querySelectorAll<HTMLElement>('.version[data-key-material-id]')].map((v) => v.dataset.keyMaterialId ?? ''),
      current: c.querySelector<HTMLElement>('.version.current')?.dataset.version ?? null,
    })),
  );
}

/** The KMS calls the page makes: where each went, which operation, and the Region its SigV4 credential scope names. */
function recordKmsCalls(page: Page): { host: string; operation: string; scope: string }[] {
  const calls: { host: string; operation: string; scope: string }[] = [];
  page.on('request', (r) => {
    const target = r.headers()['x-amz-target'];
    if (r.method() !== 'POST' || !target) return;
    const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/kms\//.exec(r.headers().authorization ?? '')?.[1] ?? '';
    calls.push({ host: new URL(r.url()).host, operation: target.replace('TrentService.', ''), scope });
  });
  return calls;
}

describe('playground', () => {
  it('in the browser (MSW + IndexedDB): keys, rotation history, envelope encryption, namespace key change', async () => {
    const { page, errors, close } = await openPage(devUrl, 'mock');

    // Create a key.
    await page.fill('#new-key-description', 'documents');
    await act(page, '#create-key');
    const row = keyRow(page, 'documents');
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([expect.stringContaining('documents'), 'Enabled', 'SYMMETRIC_DEFAULT', 'Off', '—', '10 of 10']);
    expect(await page.locator('#timeline .version').count()).toBe(1);

    // Automatic rotation every 365 days.
    await act(page, '#enable-rotation');
    expect(await row.locator('.rotation').textContent()).toBe('On · 365 d');
    expect(await row.locator('.next-rotation').textContent()).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    // Encrypt a file under it (envelope encryption in the page).
    const content = 'Quarterly numbers: 42, 17, 99.\n'.repeat(20);
    await page.setInputFiles('#file-to-encrypt', { name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
    await act(page, '#encrypt-file');
    expect(await lastMessage(page)).toContain('Encrypted report.txt');
    const v1 = await page.getAttribute('#timeline .version[data-version="1"]', 'data-key-material-id');
    expect(v1).toMatch(/^[0-9a-f]{64}$/);

    // Rotate on demand: a second version becomes current; one on-demand rotation used.
    await act(page, '#rotate-now');
    await page.waitForSelector('#timeline .version.current[data-version="2"]');
    expect(await text(page, '#timeline .version[data-version="2"] .badge')).toBe('ON_DEMAND');
    expect(await row.locator('.on-demand-left').textContent()).toBe('9 of 10');

    // Decrypt the file encrypted before the rotation: the older key material did it.
    const sealed = page.locator('.sealed-item[data-name="report.txt"]');
    await act(page, '.sealed-item[data-name="report.txt"] .decrypt');
    const by = sealed.locator('.decrypted-by');
    await by.waitFor();
    expect(await by.getAttribute('data-key-material-id')).toBe(v1);
    expect(await by.textContent()).toContain('key material v1 of 2 (not current');
    expect(await sealed.locator('.preview').textContent()).toBe(content);

    // The ciphertext downloads as a .ekms file, which decrypts again once picked.
    const [download] = await Promise.all([page.waitForEvent('download'), sealed.locator('a.button').click()]);
    expect(download.suggestedFilename()).toBe('report.txt.ekms');
    const downloads = mkdtempSync(join(tmpdir(), 'edge-kms-playground-test-'));
    await download.saveAs(join(downloads, download.suggestedFilename()));
    await page.setInputFiles('#file-to-decrypt', join(downloads, download.suggestedFilename()));
    const again = page.locator('.sealed-item[data-name="report.txt"]').first().locator('.decrypted-by');
    await again.waitFor();
    rmSync(downloads, { recursive: true, force: true });
    expect(await again.getAttribute('data-key-material-id')).toBe(v1);

    // A year later on the test clock, automatic rotation has happened.
    await act(page, '#advance-365');
    expect(await lastMessage(page)).toContain('1 automatic rotation happened');
    await page.waitForSelector('#timeline .version.current[data-version="3"]');
    expect(await text(page, '#timeline .version[data-version="3"] .badge')).toBe('AUTOMATIC');
    expect(await text(page, '#clock-now')).toContain('(+365 d)');

    // An error from KMS reads as the AWS exception and its message.
    await act(page, '#cancel-deletion');
    expect(await text(page, '#messages li.error .error-name')).toBe('KMSInvalidStateException');
    await page.click('#messages li.error .dismiss');

    // A namespace under this key, filled with a few hundred records.
    await act(page, '#create-namespace');
    await act(page, '#fill-namespace');
    expect(await text(page, '#namespace-count')).toBe('300');

    // Change its key: the lock shows while it runs, the progress bar reaches 100%, the lock goes.
    await page.fill('#new-key-description', 'archive');
    await act(page, '#create-key');
    const archiveId = (await keyRow(page, 'archive').getAttribute('data-key-id'))!;
    await page.selectOption('#namespace-target-key', { label: `archive (${archiveId.slice(0, 8)}…)` });
    await page.click('#change-key');
    await page.waitForSelector('#lock-banner', { state: 'visible' });
    expect(await page.isDisabled('#fill-namespace')).toBe(true);
    expect(await page.isDisabled('#put-record')).toBe(true);
    await page.waitForFunction(() => document.querySelector('#lock-banner')?.hasAttribute('hidden'), null, { timeout: 30_000 });
    expect(await page.getAttribute('#progress', 'aria-valuenow')).toBe('100');
    expect(await text(page, '#progress-text')).toMatch(/^Re-wrapping: 300 \/ 300 records · \d+ records\/s · ETA done$/);
    expect(await lastMessage(page)).toContain('300 records re-wrapped');
    expect(await page.getAttribute('#namespace-key', 'data-key-arn')).toContain(archiveId);
    expect(await page.isEnabled('#fill-namespace')).toBe(true);
    await page.click('#records li:first-child button');
    await page.waitForFunction(() => document.querySelector('#record-value')?.textContent?.startsWith('note-0001: Note 0001'));

    await page.click('#keys-table tbody tr:has-text("documents")');
    await page.waitForSelector('#timeline .version[data-version="3"]');
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png'), fullPage: true });

    // Everything is in IndexedDB: a reload finds the keys, their history and the namespace.
    await page.reload();
    await page.waitForSelector('body[data-ready="mock"]');
    await keyRow(page, 'archive').waitFor();
    await page.click('#keys-table tbody tr:has-text("documents")');
    await page.waitForSelector('#timeline .version.current[data-version="3"]');
    expect(await text(page, '#namespace-count')).toBe('300');
    expect(await text(page, '#clock-now')).toContain('(+365 d)');

    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it('in the browser: a multi-Region key, replicated to two Regions; rotating the primary adds the version in each', async () => {
    const { page, errors, close } = await openPage(devUrl, 'mock');
    const calls = recordKmsCalls(page);

    // Create a multi-Region key: an mrk- key, its primary in the page's Region.
    await page.fill('#new-key-description', 'global');
    await page.check('#new-key-multi-region');
    await act(page, '#create-key');
    expect(await lastMessage(page)).toMatch(/^Created multi-Region key mrk-[0-9a-f]{32} in us-east-1\.$/);
    const row = keyRow(page, 'global');
    const keyId = (await row.getAttribute('data-key-id'))!;
    expect(keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(await text(page, '#keys-table tbody tr:has-text("global") .tag.multi-region')).toBe('Multi-Region · 1 Region');
    await page.waitForSelector('#region-timelines .region[data-region="us-east-1"][data-role="PRIMARY"]');
    expect(await page.isVisible('#timeline')).toBe(false);
    const [original] = (await regionTimelines(page))[0]!.ids;
    expect(original).toMatch(/^[0-9a-f]{64}$/);

    const primaryArn = await text(page, '#key-detail .arn');
    expect(primaryArn).toMatch(new RegExp(`^arn:aws:kms:us-east-1:\\d{12}:key/${keyId}$`));

    // Replicate it to two Regions (ReplicateKey in the primary's Region).
    for (const region of ['eu-west-1', 'ap-southeast-2']) {
      await page.selectOption('#replica-region', region);
      await act(page, '#replicate-key');
      expect(await lastMessage(page)).toBe(`Replicated to ${region}: ${primaryArn.replace(':us-east-1:', `:${region}:`)}.`);
    }
    // The Regions it is in are no longer offered.
    expect(await page.$$eval('#replica-region option', (o) => o.map((x) => (x as HTMLOptionElement).value))).not.toContain('eu-west-1');
    expect(await text(page, '#keys-table tbody tr:has-text("global") .tag.multi-region')).toBe('Multi-Region · 3 Regions');
    expect(await page.textContent('#key-detail .summary')).toContain('primary in us-east-1; replicas in eu-west-1, ap-southeast-2');
    // Each replica has the whole history: here, the original material.
    expect(await regionTimelines(page)).toEqual([
      { region: 'us-east-1', role: 'PRIMARY', ids: [original], current: '1' },
      { region: 'eu-west-1', role: 'REPLICA', ids: [original], current: '1' },
      { region: 'ap-southeast-2', role: 'REPLICA', ids: [original], current: '1' },
    ]);

    // Rotate the primary: every Region is read again, and the new version is current in each.
    calls.length = 0;
    await act(page, '#rotate-now');
    expect(await lastMessage(page)).toBe('Rotated: new key material is current in us-east-1 and its 2 replicas.');
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-2']) {
      await page.waitForSelector(`#region-timelines .region[data-region="${region}"] .version.current[data-version="2"]`);
      expect(await text(page, `#region-timelines .region[data-region="${region}"] .version[data-version="2"] .badge`)).toBe('ON_DEMAND');
    }
    const after = await regionTimelines(page);
    const rotated = after[0]!.ids[1]!;
    expect(rotated).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated).not.toBe(original);
    expect(after).toEqual([
      { region: 'us-east-1', role: 'PRIMARY', ids: [original, rotated], current: '2' },
      { region: 'eu-west-1', role: 'REPLICA', ids: [original, rotated], current: '2' },
      { region: 'ap-southeast-2', role: 'REPLICA', ids: [original, rotated], current: '2' },
    ]);
    expect(await page.getAttribute('#history-note', 'data-in-sync')).toBe('true');
    // Each Region's timeline came from that Region: its own endpoint, signed for it.
    for (const region of ['eu-west-1', 'ap-southeast-2']) {
      expect(calls).toContainEqual({ host: `kms.${region}.amazonaws.com`, operation: 'ListKeyRotations', scope: region });
      expect(calls).toContainEqual({ host: `kms.${region}.amazonaws.com`, operation: 'DescribeKey', scope: region });
    }
    expect(calls).toContainEqual({ host: 'kms.us-east-1.amazonaws.com', operation: 'RotateKeyOnDemand', scope: 'us-east-1' });
    expect(calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(1);

    await page.screenshot({ path: join(ARTIFACTS, 'playground-multi-region.png'), fullPage: true });

    // The replicas are in IndexedDB too: a reload finds every Region's history.
    await page.reload();
    await page.waitForSelector('body[data-ready="mock"]');
    await page.click('#keys-table tbody tr:has-text("global")');
    await page.waitForSelector('#region-timelines .region[data-region="ap-southeast-2"] .version.current[data-version="2"]');
    expect(await regionTimelines(page)).toEqual(after);

    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it('in the browser: a signing key and an HMAC key, signed and verified; an edited message is invalid', async () => {
    const { page, errors, close } = await openPage(devUrl, 'mock');
    const algorithms = () => page.$$eval('#signing-algorithm option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    const verdict = async () => {
      await page.waitForSelector('#verify-result [data-valid]');
      return page.getAttribute('#verify-result [data-valid]', 'data-valid');
    };

    // No sign panel for a symmetric key.
    await page.fill('#new-key-description', 'plain');
    await act(page, '#create-key');
    await keyRow(page, 'plain').waitFor();
    expect(await page.isVisible('#sign-panel')).toBe(false);
    expect(await page.isEnabled('#encrypt-text')).toBe(true);

    // An ECC P-256 key: SIGN_VERIFY, its algorithms in the select.
    await page.fill('#new-key-description', 'signer');
    await page.selectOption('#new-key-spec', 'ECC_NIST_P256');
    await act(page, '#create-key');
    expect(await lastMessage(page)).toMatch(/^Created ECC_NIST_P256 key [0-9a-f-]{36}\.$/);
    const row = keyRow(page, 'signer');
    expect(await row.locator('td.spec').textContent()).toBe('ECC_NIST_P256');
    await page.waitForSelector('#sign-panel', { state: 'visible' });
    expect(await text(page, '#sign-title')).toBe('Sign & verify');
    expect(await algorithms()).toEqual(['ECDSA_SHA_256']);
    // Encryption and rotation are for symmetric keys only.
    expect(await page.isDisabled('#encrypt-text')).toBe(true);
    expect(await page.isDisabled('#rotate-now')).toBe(true);
    expect(await page.isDisabled('#enable-rotation')).toBe(true);
    expect(await page.isVisible('#rotation-note')).toBe(true);

    // Sign, verify: valid; edit the message, verify: invalid.
    await page.fill('#sign-message', 'pay 10 EUR to alice');
    await act(page, '#sign');
    expect(await lastMessage(page)).toContain('Signature made with ECDSA_SHA_256');
    const signature = await text(page, '#signature-base64');
    const length = Buffer.from(signature, 'base64').length;
    expect(length).toBeGreaterThanOrEqual(68);
    expect(length).toBeLessThanOrEqual(72);
    expect(await text(page, '#signature-length')).toBe(`${length} bytes`);
    await act(page, '#verify');
    expect(await verdict()).toBe('true');
    await page.fill('#sign-message', 'pay 1000 EUR to mallory');
    await act(page, '#verify');
    expect(await verdict()).toBe('false');
    expect(await text(page, '#verify-result')).toContain('Invalid');
    expect(await page.locator('#messages li.error').count()).toBe(0);

    // Ed25519, secp256k1 (@noble), RSA 2048 and ML-DSA 44 (@noble) sign and verify the same way.
    for (const [spec, alg, bytes] of [
      ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', /^64 bytes$/],
      ['ECC_SECG_P256K1', 'ECDSA_SHA_256', /^(6[89]|7[0-2]) bytes$/],
      ['RSA_2048', 'RSASSA_PSS_SHA_256', /^256 bytes$/],
      ['ML_DSA_44', 'ML_DSA_SHAKE_256', /^2420 bytes$/],
    ] as const) {
      await page.fill('#new-key-description', spec);
      await page.selectOption('#new-key-spec', spec);
      await act(page, '#create-key');
      await keyRow(page, spec).waitFor();
      await page.waitForFunction((s) => document.querySelector('#sign-key')?.textContent?.includes(s), spec);
      expect(await algorithms()).toContain(alg);
      await page.selectOption('#signing-algorithm', alg);
      await page.fill('#sign-message', `signed by ${spec}`);
      await act(page, '#sign');
      expect(await text(page, '#signature-length')).toMatch(bytes);
      await act(page, '#verify');
      expect(await verdict()).toBe('true');
      await page.fill('#sign-message', `not signed by ${spec}`);
      await act(page, '#verify');
      expect(await verdict()).toBe('false');
    }

    // An HMAC key: the same panel with GenerateMac/VerifyMac.
    await page.fill('#new-key-description', 'mac');
    await page.selectOption('#new-key-spec', 'HMAC_256');
    await act(page, '#create-key');
    await keyRow(page, 'mac').waitFor();
    await page.waitForFunction(() => document.querySelector('#sign-title')?.textContent?.startsWith('MAC'));
    expect(await algorithms()).toEqual(['HMAC_SHA_256']);
    // The signature made under the other key is gone.
    expect(await page.locator('#signature-base64').count()).toBe(0);
    await page.fill('#sign-message', 'session=42');
    await act(page, '#sign');
    expect(await text(page, '#signature-length')).toBe('32 bytes');
    await act(page, '#verify');
    expect(await verdict()).toBe('true');
    await page.fill('#sign-message', 'session=43');
    await act(page, '#verify');
    expect(await verdict()).toBe('false');

    // Back to the symmetric key: encryption again, no sign panel.
    await page.click('#keys-table tbody tr:has-text("plain")');
    await page.waitForSelector('#sign-panel', { state: 'hidden' });
    expect(await page.isEnabled('#encrypt-text')).toBe(true);
    expect(await page.isEnabled('#rotate-now')).toBe(true);

    await page.click('#keys-table tbody tr:has-text("signer")');
    await page.waitForSelector('#sign-panel', { state: 'visible' });
    await page.screenshot({ path: join(ARTIFACTS, 'playground-sign.png'), fullPage: true });
    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it('served by `npm start` at /playground/, remote mode against that server', async () => {
    let server: KmsServer | undefined;
    try {
      server = await spawnKmsServer({ testMode: false });
      const announced = `playground: ${server.url}/playground/`;
      for (let i = 0; i < 100 && !server.output.includes(announced); i++) await new Promise((r) => setTimeout(r, 20));
      expect(server.output).toContain(announced);
      // The built page works on its own (in-browser mode), then switches to the server it came from.
      const { page, errors, close } = await openPage(`${server.url}/playground/`, 'mock');
      expect(await page.inputValue('#endpoint')).toBe(`${server.url}/`);
      await page.click('#connect');
      await page.waitForSelector('body[data-ready="remote"]', { timeout: 30_000 });
      expect(page.url()).toBe(`${server.url}/playground/?endpoint=${encodeURIComponent(`${server.url}/`)}`);
      expect(await page.isVisible('#clock')).toBe(false);
      expect(await text(page, '#mode')).toBe('Remote KMS');

      await page.fill('#new-key-description', 'made on the server');
      await act(page, '#create-key');
      const keyId = await keyRow(page, 'made on the server').getAttribute('data-key-id');
      expect(keyId).toBeTruthy();
      await page.screenshot({ path: join(ARTIFACTS, 'playground-remote.png') });

      // The key is in the server's KMS, not in the page.
      const { KeyMetadata } = await server.client().describeKey({ KeyId: keyId! });
      expect(KeyMetadata?.Description).toBe('made on the server');

      // A multi-Region key replicated from the page: one endpoint, the Region from the signature.
      await page.fill('#new-key-description', 'global on the server');
      await page.check('#new-key-multi-region');
      await act(page, '#create-key');
      const mrk = (await keyRow(page, 'global on the server').getAttribute('data-key-id'))!;
      expect(mrk).toMatch(/^mrk-/);
      await page.selectOption('#replica-region', 'eu-west-1');
      await act(page, '#replicate-key');
      await act(page, '#rotate-now');
      await page.waitForSelector('#region-timelines .region[data-region="eu-west-1"] .version.current[data-version="2"]');
      const shown = await regionTimelines(page);
      expect(shown.map((r) => [r.region, r.role, r.ids.length])).toEqual([
        ['us-east-1', 'PRIMARY', 2],
        ['eu-west-1', 'REPLICA', 2],
      ]);
      expect(shown[1]!.ids).toEqual(shown[0]!.ids);
      // The server has the replica in eu-west-1, with the versions the page shows.
      const inEu = new KMS({ endpoint: server.url, region: 'eu-west-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
      const replica = await inEu.describeKey({ KeyId: mrk });
      expect(replica.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
      const rotations = await inEu.listKeyRotations({ KeyId: mrk, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
      expect(rotations.Rotations?.map((r) => r.KeyMaterialId)).toEqual(shown[0]!.ids);
      expect(errors).toEqual([]);
      await close();
    } finally {
      await server?.dispose();
    }
  }, 60_000);
});

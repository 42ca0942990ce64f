/**
 * The web page in a real browser: Debian's Chromium driven by playwright-core, against the real service
 * (in-process queue, real models) on a real port, with real photos. Screenshots of every scenario go to
 * test-output/e2e/ (git-ignored) for a human to look at.
 *
 * Without /usr/bin/chromium the suite is skipped with a loud warning; under CI=true it fails instead
 * (.ci/run installs Chromium), as for the photos (test/support/faces.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createService, type Service } from '../../src/container.js';
import { ARCFACE_TEMPLATE_112, estimateSimilarity, type Point } from '../../src/core/similarity-transform.js';
import { describeWithFaces, facePath } from '../support/faces.js';
import { startStaticServer, type StaticServer } from '../support/static-server.js';
import { HANG_GUARD_MS } from '../support/wait-until.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  const msg = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI must have it`);
  console.warn(`\n*** WARNING: ${msg}; the browser tests are SKIPPED ***\n`);
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'test-output', 'e2e');

const OBAMA = 'sanity/face_recognition/obama/obama.jpg';
const OBAMA2 = 'sanity/face_recognition/obama/obama2.jpg';
const BIDEN = 'sanity/face_recognition/biden/biden.jpg';
const HORSES = 'edge/no_face/horses.jpg';
/** Obama (left) and Biden (right); their faces, from `faceverify detect`, are centred near these points. */
const TWO_PEOPLE = 'edge/multi_face/two_people.jpg';
const OBAMA_FACE_IN_TWO_PEOPLE: Point = [314, 128];
const lfw = (name: string, n: number): string =>
  `lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
const BUSH = [lfw('George_W_Bush', 7), lfw('George_W_Bush', 65)] as const;
const BLAIR = lfw('Tony_Blair', 18);

/** A hang guard: a verification in the page can take a cold model run on a busy machine (~30 s). */
const RESULT_TIMEOUT_MS = HANG_GUARD_MS;

/*
 * Functions given to page.evaluate run in the page. This project compiles without the DOM library (it
 * would leak browser globals into src/), so the little of the DOM they use is declared here, for this
 * module only.
 */
interface PageElement {
  textContent: string | null;
  /** Of an <img>. */
  naturalWidth: number;
  /** Of a <canvas>. */
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
  querySelectorAll(selector: string): Iterable<PageElement>;
}
// The callbacks are sent to the page as source text: they can use nothing else of this module.
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };

interface DrawnFace {
  box: { x: number; y: number; width: number; height: number };
  landmarks: Point[];
}

describeWithFaces('web page in Chromium', () => {
  describe.skipIf(!HAVE_CHROMIUM)('(playwright-core)', () => {
    let service: Service;
    let files: StaticServer;
    let base: string;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    /** Console errors (a CSP violation is one) and uncaught exceptions of the page. */
    let problems: string[];
    /** POST /verify/sync requests the page made. */
    let verifyRequests: number;
    /** The galleries' embedded database, fresh for this run. */
    let dataDir: string;

    beforeAll(async () => {
      mkdirSync(OUT, { recursive: true });
      files = await startStaticServer();
      dataDir = mkdtempSync(join(tmpdir(), 'fv-e2e-'));
      service = await createService(
        loadConfig({
          LOG_LEVEL: 'silent',
          DATA_DIR: dataDir,
          RATE_LIMIT_MAX: '0',
          MAX_IMAGE_SIZE_MB: '1',
          URL_ALLOWLIST: '127.0.0.1', // the photo server of the tests
        }),
        'both',
      );
      const app = service.app;
      if (!app) throw new Error('no HTTP app');
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      await service?.close();
      await files?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    async function open(
      viewport = { width: 1280, height: 900 },
      hash = '',
      before?: (page: Page) => Promise<unknown>,
    ): Promise<Page> {
      context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      page = await context.newPage();
      await before?.(page);
      problems = [];
      verifyRequests = 0;
      page.on('console', (msg) => {
        // A refused request (413, 422…) is logged by Chromium as a failed resource: that is expected.
        if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
      });
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname === '/verify/sync') verifyRequests++;
      });
      await page.goto(`${base}/${hash}`);
      return page;
    }

    afterEach(async () => {
      await context?.close();
    });

    async function upload(n: 1 | 2, relative: string): Promise<void> {
      await page.setInputFiles(`#file-${n}`, facePath(relative));
      // The photo is decoded and shown before anything is sent.
      await page.waitForFunction((i) => document.querySelector(`#slot-${i} img`)?.naturalWidth, n);
    }

    async function verifyAndWait(): Promise<void> {
      await page.click('#verify-button');
      await page.waitForSelector('#verify-form:not([data-state="busy"])', { timeout: RESULT_TIMEOUT_MS });
    }

    async function shot(name: string): Promise<void> {
      await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
    }

    async function drawnFace(n: 1 | 2): Promise<DrawnFace> {
      const json = await page.getAttribute(`#slot-${n} canvas.overlay`, 'data-face');
      expect(json, `photo ${n} has no face drawn`).toBeTruthy();
      return JSON.parse(json as string) as DrawnFace;
    }

    /**
     * The colour of the overlay at a point of the photo (original pixels), to check that the box is drawn
     * where the face is on screen, i.e. that the overlay is scaled to the displayed photo.
     */
    /**
     * The overlay's pixel at (x, y) in original-image pixels — of the three canvas rows around it, the
     * greenest: a 2 px stroke at a fractional position is anti-aliased across rows.
     */
    async function overlayPixel(n: 1 | 2, [x, y]: Point): Promise<number[]> {
      return page.evaluate(
        ({ i, x, y }) => {
          const img = document.querySelector(`#slot-${i} img`) as PageElement;
          const canvas = document.querySelector(`#slot-${i} canvas.overlay`) as PageElement;
          const s = canvas.width / img.naturalWidth;
          const d = canvas.getContext('2d').getImageData(Math.round(x * s), Math.round(y * s) - 1, 1, 3).data;
          const rows = [0, 4, 8].map((k) => [...d.slice(k, k + 4)]);
          return rows.reduce((best, p) => ((p[1] as number) > (best[1] as number) ? p : best));
        },
        { i: n, x, y },
      );
    }

    /** Checks the aligned crop of photo n: the page's transform is the service's, and it drew pixels. */
    async function expectAlignedCrop(n: 1 | 2, face: DrawnFace): Promise<void> {
      const affine = JSON.parse((await page.getAttribute(`#crop-${n}`, 'data-affine')) ?? 'null') as number[];
      const expected = estimateSimilarity(face.landmarks, ARCFACE_TEMPLATE_112);
      expect(affine).toHaveLength(6);
      affine.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 9));
      const spread = await page.evaluate((i) => {
        const c = document.querySelector(`#crop-${i}`) as PageElement;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let min = 255;
        let max = 0;
        for (let k = 0; k < d.length; k += 4) {
          const v = d[k] as number;
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        return max - min;
      }, n);
      expect(spread, 'the aligned crop is blank').toBeGreaterThan(100);
    }

    it('two photos of the same person: a match, with boxes and landmarks drawn on both and aligned crops', async () => {
      await open();
      await upload(1, OBAMA);
      await upload(2, OBAMA2);
      await verifyAndWait();
      expect(await page.textContent('#verdict')).toBe('Same person');
      expect(await page.getAttribute('#result', 'data-match')).toBe('true');
      expect(await page.textContent('#gauge-text')).toMatch(/\d %$/);
      expect(await page.textContent('#metric-cosine .metric-note')).toMatch(/≥ threshold .*same person/);
      expect(await page.textContent('#time-taken')).toMatch(/s in the service, .* s in all/);
      // Each face's quality under its crop, and the threshold's operating point on LFW.
      for (const n of [1, 2])
        expect(await page.textContent(`#face-note-${n}`)).toMatch(/^(high|medium|low) quality/);
      expect(await page.textContent('#operating-point')).toMatch(
        /^0\.\d+: .* false matches, .* true matches \(LFW/,
      );
      for (const n of [1, 2] as const) {
        const face = await drawnFace(n);
        // The middle of the box's top edge is drawn in the box colour (green), on screen where the face is.
        const [r, g, b] = await overlayPixel(n, [face.box.x + face.box.width / 2, face.box.y]);
        expect(g, `box of photo ${n}`).toBeGreaterThan(200);
        expect(Math.max(r as number, b as number), `box of photo ${n}`).toBeLessThan(160);
        await expectAlignedCrop(n, face);
      }
      await shot('match');
      expect(problems).toEqual([]);
    });

    it('a sideways photo without EXIF: found after a turn, said under its crop, box drawn on the face', async () => {
      // A scan or re-saved phone photo: the pixels turned 90°, no orientation tag to undo it.
      const sideways = await sharp(facePath(OBAMA2)).rotate(90).jpeg({ quality: 92 }).toBuffer();
      await open();
      await upload(1, OBAMA);
      await page.setInputFiles('#file-2', { name: 'sideways.jpg', mimeType: 'image/jpeg', buffer: sideways });
      await page.waitForFunction(() => document.querySelector('#slot-2 img')?.naturalWidth);
      await verifyAndWait();
      expect(await page.textContent('#verdict')).toBe('Same person');
      expect(await page.textContent('#face-note-2')).toMatch(/found after turning the photo (90|270)°/);
      expect(await page.textContent('#face-note-1')).not.toMatch(/turning/);
      // The box is in the sideways photo's own pixels: drawn where the face is in what the user sees.
      const face = await drawnFace(2);
      const [r, g, b] = await overlayPixel(2, [face.box.x + face.box.width / 2, face.box.y]);
      expect(g).toBeGreaterThan(200);
      expect(Math.max(r as number, b as number)).toBeLessThan(160);
      await shot('sideways');
      expect(problems).toEqual([]);
    });

    it('two different people: no match, the metrics on the other side of the threshold', async () => {
      await open();
      await upload(1, OBAMA);
      await upload(2, BIDEN);
      await verifyAndWait();
      expect(await page.textContent('#verdict')).toBe('Different people');
      expect(await page.getAttribute('#result', 'data-match')).toBe('false');
      expect(await page.textContent('#metric-cosine .metric-note')).toMatch(/< threshold .*different people/);
      await drawnFace(1);
      await drawnFace(2);
      await shot('no-match');
      expect(problems).toEqual([]);
    });

    it('a photo without a face: the error, naming the image, next to that photo only', async () => {
      await open();
      await upload(1, OBAMA);
      await upload(2, HORSES);
      await verifyAndWait();
      expect(await page.isVisible('#result')).toBe(false);
      const error = await page.textContent('#slot-2 .slot-error');
      expect(error).toContain('No face found in this photo.');
      expect(error).toContain('Image 2: No face detected');
      expect(await page.textContent('#slot-1 .slot-error')).toBe('');
      await shot('no-face');
      expect(problems).toEqual([]);
    });

    it('a group photo: "several faces", then a click on one face sends that face and verifies it', async () => {
      await open();
      await upload(1, TWO_PEOPLE);
      await upload(2, OBAMA2);
      await verifyAndWait();
      expect(await page.textContent('#slot-1 .slot-error')).toContain('Several faces in this photo');
      expect(await page.textContent('#slot-1 .slot-error')).toContain('Image 1:');
      expect(await page.getAttribute('#slot-1 canvas.overlay', 'role')).toBe('button');
      await shot('several-faces');

      // Click Obama's face where it is on screen.
      const before = verifyRequests;
      const frame = await page.locator('#slot-1 canvas.overlay').boundingBox();
      const natural = await page.evaluate(
        () => (document.querySelector('#slot-1 img') as PageElement).naturalWidth,
      );
      if (!frame) throw new Error('overlay not laid out');
      const s = frame.width / natural;
      await page.mouse.click(
        frame.x + OBAMA_FACE_IN_TWO_PEOPLE[0] * s,
        frame.y + OBAMA_FACE_IN_TWO_PEOPLE[1] * s,
      );
      await page.waitForSelector('#result:not([hidden])', { timeout: RESULT_TIMEOUT_MS });
      expect(verifyRequests).toBe(before + 1);
      expect(await page.textContent('#verdict')).toBe('Same person');
      // The face the service found in the crop is drawn back on the whole photo, over Obama's face.
      const face = await drawnFace(1);
      const [cx, cy] = [face.box.x + face.box.width / 2, face.box.y + face.box.height / 2];
      expect(Math.hypot(cx - OBAMA_FACE_IN_TWO_PEOPLE[0], cy - OBAMA_FACE_IN_TWO_PEOPLE[1])).toBeLessThan(40);
      await expectAlignedCrop(1, face);
      await shot('face-chosen');
      expect(problems).toEqual([]);
    });

    it('choosing a face works from the keyboard too: arrow keys move the marker, Enter chooses', async () => {
      await open();
      await upload(1, TWO_PEOPLE);
      await upload(2, BIDEN);
      await verifyAndWait();
      await page.focus('#slot-1 canvas.overlay');
      // From the middle (563, 330) to Biden's face (near 865, 148): steps of 2.5 % of 1126 pixels.
      for (let i = 0; i < 11; i++) await page.keyboard.press('ArrowRight');
      for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowUp');
      await shot('keyboard-marker');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#result:not([hidden])', { timeout: RESULT_TIMEOUT_MS });
      expect(await page.textContent('#verdict')).toBe('Same person');
      const face = await drawnFace(1);
      expect(face.box.x).toBeGreaterThan(700);
      expect(problems).toEqual([]);
    });

    it('a file that is not an image, and one too large: each error next to its photo, in words', async () => {
      await open();
      await page.setInputFiles('#file-1', {
        name: 'notes.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('these are notes, not a photo\n'.repeat(20)),
      });
      await upload(2, OBAMA);
      await verifyAndWait();
      expect(await page.textContent('#slot-1 .slot-error')).toMatch(/not an image|not supported/);
      expect(await page.textContent('#slot-1 .slot-error')).toContain('Image 1:');
      await shot('not-an-image');

      await upload(1, OBAMA2);
      await page.setInputFiles('#file-2', {
        name: 'huge.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.alloc(1_500_000, 0xff),
      });
      await verifyAndWait();
      expect(await page.textContent('#slot-2 .slot-error')).toContain('too large');
      expect(await page.textContent('#slot-1 .slot-error')).toBe('');
      await shot('too-large');
      expect(problems).toEqual([]);
    });

    it('on a phone-sized screen the page fits the width and shows the result', async () => {
      await open({ width: 390, height: 844 });
      await upload(1, OBAMA);
      await upload(2, OBAMA2);
      await verifyAndWait();
      expect(await page.textContent('#verdict')).toBe('Same person');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, 'horizontal scrolling on a phone').toBeLessThanOrEqual(0);
      await shot('phone');
      expect(problems).toEqual([]);
    });

    it('photos given by URL: the service fetches them, the page says it does not show them', async () => {
      await open();
      await page.fill('#url-1', files.url(OBAMA));
      await page.fill('#url-2', files.url(BIDEN));
      await page.locator('#url-2').blur();
      await verifyAndWait();
      expect(await page.textContent('#verdict')).toBe('Different people');
      expect(await page.textContent('#slot-1 figcaption')).toContain('not shown here');
      await shot('urls');
      expect(problems).toEqual([]);
    });

    it('a service that wants an API key: the page asks for one and sends it as X-API-Key', async () => {
      // This service has no keys; the browser answers /metrics as one with keys does.
      await open(undefined, '', (p) =>
        p.route('**/metrics', (route) =>
          route.fulfill({
            status: 401,
            json: { status: 'error', code: 'UNAUTHORIZED', error: 'A valid API key is required' },
          }),
        ),
      );
      await page.waitForSelector('#api-key-box:not([hidden])');
      await page.fill('#api-key', 'my-key');
      const sent = page.waitForRequest((r) => new URL(r.url()).pathname === '/verify/sync');
      await upload(1, OBAMA);
      await upload(2, OBAMA2);
      await verifyAndWait();
      expect((await sent).headers()['x-api-key']).toBe('my-key');
      await shot('api-key');
      expect(problems).toEqual([]);
    });

    it('batch view: URL pairs give a results table in order, and the dashboard shows the service live', async () => {
      await open({ width: 1280, height: 900 }, '#batch');
      const pairs: [string, string][] = [
        [OBAMA, OBAMA2],
        [OBAMA, BIDEN],
        [OBAMA, HORSES],
      ];
      await page.fill('#batch-pairs', pairs.map(([a, b]) => `${files.url(a)} ${files.url(b)}`).join('\n'));
      await page.click('#batch-button');
      await page.waitForSelector('#batch-table:not([hidden])', { timeout: RESULT_TIMEOUT_MS });
      const rows = await page.evaluate(() =>
        [...document.querySelectorAll('#batch-table tbody tr')].map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
        ),
      );
      expect(rows.map((r) => r[0])).toEqual(['1', '2', '3']);
      expect(rows[0]?.[3]).toBe('Same person');
      expect(rows[1]?.[3]).toBe('Different people');
      expect(rows[2]?.[3]).toContain('Image 2: No face');
      expect(await page.textContent('#batch-summary')).toMatch(
        /^3 pairs: 1 same person, 1 different, 1 failed/,
      );
      // The dashboard polls /metrics: the finished tasks show up.
      await page.waitForFunction(
        () => Number(document.querySelector('#dash-tasks dd[data-state="SUCCESS"]')?.textContent) > 0,
        undefined,
        { timeout: HANG_GUARD_MS },
      );
      expect(await page.textContent('#dash-p50')).toMatch(/ms$/);
      expect(await page.textContent('#dash-hit')).toMatch(/%$/);
      await shot('batch');
      expect(problems).toEqual([]);
    });
    it('identities: enrol a person, find them in another photo, an unknown person, then delete', async () => {
      await open({ width: 1280, height: 900 }, '#identities');
      const idle = (): Promise<unknown> =>
        page.waitForSelector('#id-form:not([data-state="busy"])', { timeout: RESULT_TIMEOUT_MS });
      const act = async (button: string): Promise<void> => {
        await page.click(button);
        await idle();
      };
      const texts = (selector: string): Promise<string[]> =>
        page.evaluate((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? ''), selector);
      await idle();
      expect(await page.isVisible('#gallery-empty')).toBe(true);

      // A new gallery by name; it is created by its first enrolment.
      await page.fill('#gallery-name', 'visitors');
      await page.press('#gallery-name', 'Enter');
      await idle();
      expect(await page.textContent('#gallery-facts')).toContain('A new gallery');

      await page.setInputFiles('#id-file', facePath(BUSH[0]));
      await page.fill('#id-subject', 'bush');
      await act('#id-enrol');
      expect(await page.textContent('#id-error')).toBe('');
      expect(await page.textContent('#id-verdict')).toBe('Enrolled');
      expect(await texts('#gallery-list button.pick strong')).toEqual(['visitors']);
      expect(await texts('#subject-list button.pick strong')).toEqual(['bush']);
      expect(await texts('#face-table tbody tr')).toHaveLength(1);
      await shot('identities-enrolled');

      // Another photo of the same man: found, best first, with cosine and confidence.
      await page.setInputFiles('#id-file', facePath(BUSH[1]));
      await act('#id-search');
      expect(await page.textContent('#id-verdict')).toBe('Best match: bush');
      const [row] = await page.evaluate(() =>
        [...document.querySelectorAll('#match-table tbody tr')].map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
        ),
      );
      expect(row?.slice(0, 2)).toEqual(['1', 'bush']);
      expect(Number(row?.[2])).toBeGreaterThan(0.3);
      expect(row?.[3]).toMatch(/ %$/);
      await shot('identities-found');
      await act('#id-verify');
      expect(await page.textContent('#id-verdict')).toBe('Same person: bush');

      // Someone never enrolled: said in words, no table of matches.
      await page.setInputFiles('#id-file', facePath(BLAIR));
      await act('#id-search');
      expect(await page.textContent('#id-verdict')).toBe('Unknown person');
      expect(await page.isVisible('#match-table')).toBe(false);
      await shot('identities-unknown');

      // A photo without a face: the error, in the page's error style.
      await page.setInputFiles('#id-file', facePath(HORSES));
      await act('#id-enrol');
      expect(await page.textContent('#id-error')).toMatch(/No face found in this photo\..*\(NO_FACE\)/);
      expect(await texts('#face-table tbody tr')).toHaveLength(1);

      // Deleting asks first: declined, nothing goes; accepted, the face (the last: the subject) goes.
      page.once('dialog', (d) => void d.dismiss());
      await act('#face-table tbody button.danger');
      expect(await texts('#subject-list button.pick strong')).toEqual(['bush']);
      page.once('dialog', (d) => void d.accept());
      await act('#face-table tbody button.danger');
      expect(await page.textContent('#id-verdict')).toBe('Deleted');
      expect(await texts('#subject-list button.pick strong')).toEqual([]);
      expect(await page.isVisible('#subject-detail')).toBe(false);
      await page.setInputFiles('#id-file', facePath(BUSH[1]));
      await act('#id-search');
      expect(await page.textContent('#id-verdict')).toBe('Unknown person');

      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void d.accept();
      });
      await act('#gallery-delete');
      expect(asked).toContain('gallery visitors');
      expect(await texts('#gallery-list button.pick strong')).toEqual([]);
      await shot('identities-deleted');
      expect(problems).toEqual([]);
    });
  });
});

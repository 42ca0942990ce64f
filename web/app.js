/**
 * The faceverify page: two photos → POST /verify/sync → boxes, landmarks, aligned crops, verdict,
 * confidence and metrics; a batch view with the service's live metrics; an Identities view over the
 * gallery routes (identities.js). Plain ES modules, no build
 * step, nothing loaded from anywhere but this service (its CSP allows nothing else).
 */
import { drawAligned } from './align.js';
import { ApiError, createApi, imageOfMessage, sameOrigin } from './api.js';
import { drawOverlay } from './draw.js';
import { formatPercent, photoHint } from './format.js';
import { initIdentities } from './identities.js';
import { cropToBlob, GROW, regionAround, SHRINK } from './pick.js';

const KEY_STORAGE = 'faceverify.apiKey';
const METRICS_EVERY_MS = 3000;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const apiKeyInput = /** @type {HTMLInputElement} */ ($('api-key'));
apiKeyInput.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
if (apiKeyInput.value) $('api-key-box').hidden = false;
apiKeyInput.addEventListener('input', () => sessionStorage.setItem(KEY_STORAGE, apiKeyInput.value.trim()));
$('api-key-box').addEventListener('submit', (e) => e.preventDefault());
const api = createApi(() => apiKeyInput.value.trim());

/**
 * Shows the API key field after the service asked for a key.
 *
 * @param {boolean} focus move the focus there (after the user's own action, not at start-up)
 */
function needKey(focus) {
  $('api-key-box').hidden = false;
  $('api-key-hint').textContent = apiKeyInput.value
    ? 'The service refused this API key: check it.'
    : 'This service needs an API key (sent as X-API-Key): enter it, then try again.';
  if (focus) apiKeyInput.focus();
}

const identities = initIdentities({ api, needKey });

// ---------------------------------------------------------------------------------------------------
// Tabs

const tabs = [...document.querySelectorAll('[role="tab"]')];

function selectTab(tab, focus) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls') ?? '').hidden = !on;
  }
  if (focus) tab.focus();
  if (tab.id === 'tab-batch') startDashboard();
  else stopDashboard();
  if (tab.id === 'tab-identities') identities.show();
  history.replaceState(null, '', HASHES[tab.id] ?? location.pathname);
}

/** The address of each view but the first, so a reload or a link opens it. */
const HASHES = { 'tab-batch': '#batch', 'tab-identities': '#identities' };

tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectTab(tab, false));
  tab.addEventListener('keydown', (e) => {
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
});

// ---------------------------------------------------------------------------------------------------
// The two photos

/**
 * @typedef {{ box: { x: number, y: number, width: number, height: number }, landmarks: [number, number][], score: number }} Face
 * @typedef {{ x: number, y: number, width: number, height: number }} Rect
 */

class Slot {
  /** @param {1 | 2} n */
  constructor(n) {
    this.n = n;
    this.root = $(`slot-${n}`);
    const q = (sel) => this.root.querySelector(sel);
    /** @type {HTMLInputElement} */ this.fileInput = q('input[type="file"]');
    /** @type {HTMLInputElement} */ this.urlInput = q('input.url');
    /** @type {HTMLElement} */ this.figure = q('figure');
    /** @type {HTMLElement} */ this.stage = q('.stage');
    /** @type {HTMLImageElement} */ this.img = q('img');
    /** @type {HTMLCanvasElement} */ this.overlay = q('canvas.overlay');
    /** @type {HTMLElement} */ this.caption = q('figcaption');
    /** @type {HTMLElement} */ this.error = q('.slot-error');
    /** @type {HTMLButtonElement} */ this.clearButton = q('button.clear');
    /** @type {File | undefined} */ this.file = undefined;
    this.url = '';
    /** @type {string | undefined} */ this.objectUrl = undefined;
    /** The region sent instead of the whole photo, after the user chose a face. */
    /** @type {{ region: Rect, blob: Blob } | undefined} */ this.crop = undefined;
    /** The face the service compared, in the photo's pixels. */
    /** @type {Face | undefined} */ this.face = undefined;
    this.picking = false;
    /** @type {Rect[] | undefined} */ this.boxes = undefined;
    /** @type {number | undefined} */ this.nextSide = undefined;
    /** @type {[number, number] | undefined} */ this.marker = undefined;

    this.fileInput.addEventListener('change', () => {
      const file = this.fileInput.files?.[0];
      if (file) this.setFile(file);
    });
    // A URL replaces an upload once it is entered (change), not at the first key typed (input).
    this.urlInput.addEventListener('input', () => updateVerifyButton());
    this.urlInput.addEventListener('change', () => this.takeTypedUrl());
    this.clearButton.addEventListener('click', () => this.clear());
    this.img.addEventListener('load', () => this.redraw());
    this.img.addEventListener('error', () => {
      if (!this.img.getAttribute('src')) return;
      this.stage.hidden = true;
      this.caption.textContent = `${this.describe()} — the browser cannot show it`;
    });
    new ResizeObserver(() => this.redraw()).observe(this.img);

    for (const type of ['dragenter', 'dragover']) {
      this.root.addEventListener(type, (e) => {
        e.preventDefault();
        this.root.classList.add('dragging');
      });
    }
    this.root.addEventListener('dragleave', (e) => {
      if (!this.root.contains(/** @type {Node | null} */ (e.relatedTarget)))
        this.root.classList.remove('dragging');
    });
    this.root.addEventListener('drop', (e) => {
      e.preventDefault();
      this.root.classList.remove('dragging');
      const file = e.dataTransfer?.files[0];
      const url = e.dataTransfer?.getData('text/uri-list').split('\n')[0]?.trim();
      if (file) this.setFile(file);
      else if (url) this.setUrl(url);
    });

    this.overlay.addEventListener('click', (e) => {
      if (!this.picking) return;
      const scale = this.img.naturalWidth / this.img.clientWidth;
      void this.pick([e.offsetX * scale, e.offsetY * scale]);
    });
    this.overlay.addEventListener('keydown', (e) => this.onPickKey(e));
  }

  /** What this slot holds, in words. */
  describe() {
    if (this.file) return `${this.file.name} (${formatBytes(this.file.size)})`;
    return this.url;
  }

  hasInput() {
    return Boolean(this.file || this.url || this.urlInput.value.trim());
  }

  /** Uses the URL in the field, if one was typed that is not in use yet. */
  takeTypedUrl() {
    const typed = this.urlInput.value.trim();
    if (typed !== this.url || (typed && this.file)) this.setUrl(typed);
  }

  /** @param {File} file */
  setFile(file) {
    this.reset();
    this.file = file;
    this.url = '';
    this.urlInput.value = '';
    this.objectUrl = URL.createObjectURL(file);
    this.show(this.objectUrl);
  }

  /** @param {string} url */
  setUrl(url) {
    this.reset();
    this.file = undefined;
    this.fileInput.value = '';
    this.url = url;
    this.urlInput.value = url;
    if (!url) {
      this.figure.hidden = true;
      this.clearButton.hidden = true;
    } else if (sameOrigin(url)) {
      this.show(url);
    } else {
      // The page's CSP loads images from this service only: the service fetches the photo, the page can't.
      this.show(undefined);
      this.caption.textContent = `${url} — fetched by the service; not shown here`;
    }
  }

  /** @param {string | undefined} src */
  show(src) {
    this.figure.hidden = false;
    this.clearButton.hidden = false;
    this.stage.hidden = !src;
    if (src) this.img.src = src;
    else this.img.removeAttribute('src');
    this.caption.textContent = this.describe();
    updateVerifyButton();
    clearResult();
  }

  clear() {
    this.reset();
    this.file = undefined;
    this.url = '';
    this.fileInput.value = '';
    this.urlInput.value = '';
    this.img.removeAttribute('src');
    this.figure.hidden = true;
    this.clearButton.hidden = true;
    updateVerifyButton();
    clearResult();
    this.fileInput.focus();
  }

  /** Forgets everything about the previous photo. */
  reset() {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = undefined;
    this.crop = undefined;
    this.face = undefined;
    this.boxes = undefined;
    this.nextSide = undefined;
    this.setPicking(false);
    this.setError(undefined);
  }

  /** Pixels are available (an upload, or a photo on this origin), so a face can be chosen by cropping. */
  canCrop() {
    return Boolean(this.img.getAttribute('src') && this.img.complete && this.img.naturalWidth);
  }

  redraw() {
    // The face drawn, in the photo's pixels, for whoever inspects the page (tests, curious users).
    if (this.face) this.overlay.dataset.face = JSON.stringify(this.face);
    else delete this.overlay.dataset.face;
    if (!this.img.naturalWidth || this.stage.hidden) return;
    drawOverlay(this.overlay, this.img, {
      faces: this.face ? [this.face] : [],
      ...(this.crop ? { region: this.crop.region } : {}),
      ...(this.picking && this.marker ? { marker: this.marker } : {}),
    });
  }

  /**
   * Shows an error next to this photo, or removes it.
   *
   * @param {{ hint: string, detail?: string } | undefined} err
   */
  setError(err) {
    this.root.classList.toggle('has-error', Boolean(err));
    this.error.replaceChildren();
    if (!err) return;
    const strong = document.createElement('strong');
    strong.textContent = err.hint;
    this.error.append(strong);
    if (err.detail) {
      const detail = document.createElement('span');
      detail.className = 'detail';
      detail.textContent = err.detail;
      this.error.append(' ', detail);
    }
  }

  /** @param {boolean} on */
  setPicking(on) {
    this.picking = on;
    this.root.classList.toggle('picking', on);
    if (on) {
      this.overlay.removeAttribute('aria-hidden');
      this.overlay.setAttribute('role', 'button');
      this.overlay.setAttribute(
        'aria-label',
        `Choose the face to compare in photo ${this.n}: click it, or move the marker with the arrow keys and press Enter`,
      );
      this.overlay.tabIndex = 0;
    } else {
      this.overlay.setAttribute('aria-hidden', 'true');
      this.overlay.removeAttribute('role');
      this.overlay.removeAttribute('aria-label');
      this.overlay.removeAttribute('tabindex');
      this.marker = undefined;
    }
    this.redraw();
  }

  /** @param {KeyboardEvent} e */
  onPickKey(e) {
    if (!this.picking || !this.img.naturalWidth) return;
    const w = this.img.naturalWidth;
    const h = this.img.naturalHeight;
    const [x, y] = this.marker ?? [w / 2, h / 2];
    const step = (e.shiftKey ? 0.1 : 0.025) * Math.max(w, h);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const move = moves[/** @type {keyof typeof moves} */ (e.key)];
    if (move) {
      e.preventDefault();
      this.marker = [Math.min(w, Math.max(0, x + move[0])), Math.min(h, Math.max(0, y + move[1]))];
      this.redraw();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      void this.pick([x, y]);
    }
  }

  /**
   * Crops the region around a point of the photo and verifies again with it.
   *
   * @param {[number, number]} point in the photo's pixels
   */
  async pick(point) {
    const region = regionAround(
      point,
      { width: this.img.naturalWidth, height: this.img.naturalHeight },
      { ...(this.nextSide ? { side: this.nextSide } : {}), ...(this.boxes ? { boxes: this.boxes } : {}) },
    );
    this.crop = { region, blob: await cropToBlob(this.img, region) };
    this.setPicking(false);
    this.setError(undefined);
    this.caption.textContent = `${this.describe()} — the face you chose (${region.width}×${region.height} pixels)`;
    this.redraw();
    await verify();
  }

  /** @param {FormData} form */
  appendTo(form) {
    if (this.crop) form.append(`image${this.n}`, this.crop.blob, `face-${this.n}.jpg`);
    else if (this.file) form.append(`image${this.n}`, this.file, this.file.name);
    else form.append(`image${this.n}_url`, this.url);
  }
}

const slots = /** @type {const} */ ([new Slot(1), new Slot(2)]);
const verifyButton = /** @type {HTMLButtonElement} */ ($('verify-button'));
const form = /** @type {HTMLFormElement} */ ($('verify-form'));

function updateVerifyButton() {
  verifyButton.disabled = !slots.every((s) => s.hasInput()) || form.dataset.state === 'busy';
}

/** @param {number} n */
function formatBytes(n) {
  return n < 1024 * 1024 ? `${Math.round(n / 1024)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------------------------------------------------------------------------------------------------
// Verifying

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void verify();
});

/** What to tell the user about an image error, by its stable code. */
function imageHint(code, slot) {
  switch (code) {
    case 'NO_FACE':
      return slot.crop
        ? 'No face where you clicked: click the middle of the face.'
        : 'No face found in this photo.';
    case 'MULTIPLE_FACES':
      return slot.canCrop()
        ? 'Several faces in this photo: click the face to compare.'
        : 'Several faces in this photo: upload the photo itself (not its URL) to choose one.';
    default:
      return photoHint(code) ?? 'This photo could not be used.';
  }
}

/**
 * Shows an error about one photo and, for several faces, lets the user choose one.
 *
 * @param {Slot} slot
 * @param {{ code: string, error: string, faces?: unknown }} err
 */
function showImageError(slot, err) {
  slot.setError({ hint: imageHint(err.code, slot), detail: err.error });
  const previous = slot.crop ? Math.max(slot.crop.region.width, slot.crop.region.height) : undefined;
  if (err.code === 'MULTIPLE_FACES' && slot.canCrop()) {
    // Still several faces in the chosen region: the next region is smaller, around the next click.
    slot.boxes = boxesOf(err.faces);
    slot.nextSide = previous ? previous * SHRINK : undefined;
    slot.crop = undefined;
    slot.setPicking(true);
  } else if (err.code === 'NO_FACE' && previous) {
    // Nothing in the chosen region: the next one is larger.
    slot.nextSide = previous * GROW;
    slot.crop = undefined;
    slot.setPicking(true);
  }
}

/** The faces' boxes if an error carries them (`faces: [{ box }]`), in the photo's pixels. */
function boxesOf(faces) {
  if (!Array.isArray(faces)) return undefined;
  const boxes = faces.map((f) => f?.box).filter((b) => b && Number.isFinite(b.x) && Number.isFinite(b.width));
  return boxes.length ? boxes : undefined;
}

/** @param {string} message */
function setFormError(message) {
  $('form-error').textContent = message;
}

/** The slot an unattributed 413/415 is most likely about: the larger upload. */
function largerUpload() {
  const size = (s) => s.crop?.blob.size ?? s.file?.size ?? 0;
  return size(slots[0]) >= size(slots[1]) ? slots[0] : slots[1];
}

async function verify() {
  if (form.dataset.state === 'busy') return;
  if (!slots.every((s) => s.hasInput())) {
    setFormError('Choose two photos (or give their URLs) first.');
    return;
  }
  for (const s of slots) s.takeTypedUrl();
  setFormError('');
  clearResult();
  for (const s of slots) {
    if (!s.picking) s.setError(undefined);
    s.face = undefined;
    s.redraw();
  }
  if (slots.some((s) => s.picking)) {
    setFormError('Choose a face in the photo first.');
    return;
  }
  const body = new FormData();
  for (const s of slots) s.appendTo(body);

  form.dataset.state = 'busy';
  form.setAttribute('aria-busy', 'true');
  updateVerifyButton();
  $('verify-status').textContent = 'Verifying…';
  const started = performance.now();
  try {
    const task = await api.verify(body);
    const elapsed = performance.now() - started;
    if (task.status === 'SUCCESS' && task.result) {
      showResult(task, elapsed);
      form.dataset.state = 'done';
      $('verify-status').textContent = '';
    } else {
      const err = task.error ?? { code: 'INTERNAL_ERROR', error: 'The task failed' };
      const n = imageOfMessage(err.error);
      if (n) showImageError(slots[n - 1], err);
      else setFormError(`${err.error} (${err.code})`);
      form.dataset.state = 'error';
      $('verify-status').textContent = 'Not verified.';
    }
  } catch (err) {
    form.dataset.state = 'error';
    $('verify-status').textContent = 'Not verified.';
    showRequestError(err);
  } finally {
    form.removeAttribute('aria-busy');
    updateVerifyButton();
  }
}

/** A refused request: next to the photo it is about if it is about one, else under the button. */
function showRequestError(err) {
  if (!(err instanceof ApiError)) {
    setFormError(`Something went wrong: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (err.code === 'UNAUTHORIZED') {
    needKey(true);
    setFormError('This service needs an API key: enter it above, then press Verify again.');
    return;
  }
  if (err.code === 'RATE_LIMITED' || err.code === 'QUEUE_FULL') {
    setFormError(`The service is busy: ${err.message}. Try again in a moment.`);
    return;
  }
  const n = imageOfMessage(err.message);
  const aboutUpload = err.code === 'IMAGE_TOO_LARGE' || err.code === 'UNSUPPORTED_FORMAT';
  const slot = n ? slots[n - 1] : aboutUpload ? largerUpload() : undefined;
  if (slot) showImageError(slot, { code: err.code, error: err.message });
  else setFormError(`${err.message} (${err.code})`);
}

// ---------------------------------------------------------------------------------------------------
// The result

function clearResult() {
  $('result').hidden = true;
  for (const s of slots) {
    if (s.face) {
      s.face = undefined;
      s.redraw();
    }
  }
}

/** What the service says of a face's quality, in a sentence. */
const QUALITY_REASONS = {
  LOW_SHARPNESS: 'blurred',
  LOW_BRIGHTNESS: 'dark',
  OVEREXPOSED: 'overexposed',
  LOW_CONTRAST: 'low contrast',
  SMALL_FACE: 'small face',
  EXTREME_POSE: 'turned away',
  OCCLUDED: 'covered (mask?)',
};

/**
 * Under an aligned face: its quality (level and reasons, with the measures in the tooltip) and the turn
 * the service applied to find it in a photo without an EXIF orientation.
 *
 * @param {HTMLElement} el
 * @param {any} face
 */
function showFaceNote(el, face) {
  el.replaceChildren();
  const q = face?.quality;
  if (q) {
    const level = document.createElement('span');
    level.className = `quality-${q.level}`;
    level.textContent = `${q.level} quality`;
    el.append(level);
    const reasons = (q.reasons ?? []).map((code) => QUALITY_REASONS[code] ?? code);
    if (reasons.length > 0) el.append(`: ${reasons.join(', ')}`);
    const pose = q.pose ?? {};
    el.title =
      `sharpness ${q.sharpness}, brightness ${q.brightness}, contrast ${q.contrast}, ` +
      `eyes ${q.interocular_px} px apart, yaw ${pose.yaw ?? '?'}°, pitch ${pose.pitch ?? '?'}°, roll ${pose.roll ?? '?'}°`;
  }
  if (face?.orientation) {
    el.append(document.createElement('br'), `found after turning the photo ${face.orientation}°`);
  }
}

/** The threshold's operating point, e.g. "0.3989: 0.10 % false matches, 99.0 % true matches on LFW". */
function operatingPoint(threshold) {
  const op = threshold?.operating_point;
  const value = threshold?.[threshold?.metric ?? 'cosine_similarity'];
  if (!op) return `${value ?? ''} (${threshold?.source ?? 'threshold'})`;
  const pct = (x) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;
  return `${value}: ${pct(op.far)} false matches, ${pct(op.tar)} true matches (${op.data})`;
}

/**
 * @param {{ task_id: string, result: any }} task
 * @param {number} elapsedMs
 */
function showResult(task, elapsedMs) {
  const r = task.result;
  slots.forEach((s, i) => {
    const face = r.faces?.[i];
    // Faces of a crop are in the crop's pixels: move them back onto the photo.
    s.face = face ? offsetFace(face, s.crop?.region.x ?? 0, s.crop?.region.y ?? 0) : undefined;
    s.redraw();
    const crop = /** @type {HTMLCanvasElement} */ ($(`crop-${i + 1}`));
    const ctx = crop.getContext('2d');
    if (!ctx) return;
    if (s.face && s.canCrop()) {
      crop.dataset.affine = JSON.stringify(drawAligned(ctx, s.img, s.face.landmarks));
      crop.dataset.landmarks = JSON.stringify(s.face.landmarks);
    } else {
      delete crop.dataset.affine;
      ctx.fillStyle = '#222';
      ctx.fillRect(0, 0, crop.width, crop.height);
      ctx.fillStyle = '#bbb';
      ctx.font = '16px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText('photo not shown', crop.width / 2, crop.height / 2);
    }
  });

  slots.forEach((s, i) => showFaceNote($(`face-note-${i + 1}`), s.face));

  const verdict = $('verdict');
  verdict.textContent = r.is_match ? 'Same person' : 'Different people';
  $('result').dataset.match = String(Boolean(r.is_match));

  const pct = Math.max(0, Math.min(1, Number(r.confidence))) * 100;
  $('gauge-value').setAttribute('stroke-dasharray', `${pct.toFixed(2)} 100`);
  $('gauge-text').textContent = formatPercent(r.confidence);
  $('gauge-title').textContent = `Confidence that this is the same person: ${formatPercent(r.confidence)}`;

  const decides = r.threshold?.metric ?? 'cosine_similarity';
  showMetric($('metric-cosine'), {
    value: r.metrics.cosine_similarity,
    threshold: r.threshold.cosine_similarity,
    max: 1,
    higherMatches: true,
    decides: decides === 'cosine_similarity',
  });
  showMetric($('metric-euclid'), {
    value: r.metrics.euclidean_distance,
    threshold: r.threshold.euclidean_distance,
    max: 2,
    higherMatches: false,
    decides: decides === 'euclidean_distance',
  });

  const server = Number(r.processing_time);
  $('time-taken').textContent =
    `${server.toFixed(2)} s in the service, ${(elapsedMs / 1000).toFixed(2)} s in all` +
    (r.cached ? ' (answer from the cache)' : '');
  $('model-name').textContent = String(r.model ?? '');
  $('operating-point').textContent = operatingPoint(r.threshold);
  $('task-id').textContent = task.task_id;
  $('result').hidden = false;
  verdict.tabIndex = -1;
  verdict.focus({ preventScroll: true });
}

/** @param {Face} face */
function offsetFace(face, dx, dy) {
  return {
    ...face,
    box: { ...face.box, x: face.box.x + dx, y: face.box.y + dy },
    landmarks: face.landmarks.map(([x, y]) => /** @type {[number, number]} */ ([x + dx, y + dy])),
  };
}

/**
 * @param {HTMLElement} el
 * @param {{ value: number, threshold: number, max: number, higherMatches: boolean, decides: boolean }} m
 */
function showMetric(el, m) {
  const side = m.higherMatches ? m.value >= m.threshold : m.value <= m.threshold;
  const q = (sel) => /** @type {HTMLElement} */ (el.querySelector(sel));
  q('.metric-value').textContent = m.value.toFixed(3);
  const clamp = (v) => Math.max(0, Math.min(1, v / m.max)) * 100;
  q('.bar-fill').style.width = `${clamp(m.value)}%`;
  q('.bar-mark').style.left = `${clamp(m.threshold)}%`;
  el.classList.toggle('on-match-side', side);
  const cmp = m.higherMatches ? (side ? '≥' : '<') : side ? '≤' : '>';
  q('.metric-note').textContent =
    `${m.value.toFixed(3)} ${cmp} threshold ${m.threshold.toFixed(3)}: ${side ? 'same person' : 'different people'}` +
    (m.decides ? ' (this metric decides)' : '');
}

// ---------------------------------------------------------------------------------------------------
// Batch

$('batch-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void runBatch();
});

/** @returns {[string, string][]} */
function parsePairs(text) {
  const pairs = [];
  text.split('\n').forEach((line, i) => {
    const parts = line
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean);
    if (parts.length === 0) return;
    if (parts.length !== 2) throw new Error(`Line ${i + 1}: give two URLs (found ${parts.length})`);
    pairs.push(/** @type {[string, string]} */ (parts));
  });
  if (pairs.length === 0) throw new Error('Give at least one pair of URLs.');
  return pairs;
}

async function runBatch() {
  const status = $('batch-status');
  const button = /** @type {HTMLButtonElement} */ ($('batch-button'));
  $('batch-error').textContent = '';
  let pairs;
  try {
    pairs = parsePairs(/** @type {HTMLTextAreaElement} */ ($('batch-pairs')).value);
  } catch (err) {
    $('batch-error').textContent = err instanceof Error ? err.message : String(err);
    return;
  }
  button.disabled = true;
  status.textContent = `Verifying ${pairs.length} pair${pairs.length === 1 ? '' : 's'}…`;
  try {
    const task = await api.batch(pairs);
    if (task.status !== 'SUCCESS') {
      $('batch-error').textContent =
        `${task.error?.error ?? 'The batch failed'} (${task.error?.code ?? 'FAILURE'})`;
      status.textContent = '';
      return;
    }
    showBatch(pairs, task.result);
    status.textContent = '';
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UNAUTHORIZED') needKey(true);
    $('batch-error').textContent = err instanceof Error ? err.message : String(err);
    status.textContent = '';
  } finally {
    button.disabled = false;
  }
}

/**
 * @param {[string, string][]} pairs
 * @param {{ results: any[], summary: { total: number, succeeded: number, failed: number, matches: number }, processing_time: number }} result
 */
function showBatch(pairs, result) {
  const table = $('batch-table');
  const tbody = /** @type {HTMLElement} */ (table.querySelector('tbody'));
  tbody.replaceChildren(
    ...result.results.map((item) => {
      const [a, b] = pairs[item.pair_index] ?? ['', ''];
      const tr = document.createElement('tr');
      const cells = [String(item.pair_index + 1), shortUrl(a), shortUrl(b)];
      if (item.status === 'SUCCESS') {
        tr.className = item.result.is_match ? 'match' : 'no-match';
        cells.push(
          item.result.is_match ? 'Same person' : 'Different people',
          formatPercent(item.result.confidence),
          item.result.metrics.cosine_similarity.toFixed(3),
        );
      } else {
        tr.className = 'failed';
        cells.push(item.error?.error ?? 'Failed', '–', '–');
      }
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (i === 1 || i === 2) td.title = i === 1 ? a : b;
        tr.append(td);
      });
      return tr;
    }),
  );
  const s = result.summary;
  $('batch-summary').textContent =
    `${s.total} pairs: ${s.matches} same person, ${s.succeeded - s.matches} different, ${s.failed} failed ` +
    `— ${Number(result.processing_time).toFixed(2)} s`;
  table.hidden = false;
}

/** @param {string} url */
function shortUrl(url) {
  try {
    const u = new URL(url);
    return u.pathname.split('/').filter(Boolean).pop() ?? u.host;
  } catch {
    return url;
  }
}

// ---------------------------------------------------------------------------------------------------
// Live dashboard

/** @type {ReturnType<typeof setInterval> | undefined} */
let dashboardTimer;

function startDashboard() {
  if (dashboardTimer !== undefined) return;
  void refreshDashboard();
  dashboardTimer = setInterval(() => {
    if (!document.hidden) void refreshDashboard();
  }, METRICS_EVERY_MS);
}

function stopDashboard() {
  clearInterval(dashboardTimer);
  dashboardTimer = undefined;
}

const STATES = [
  ['PENDING', 'Waiting'],
  ['STARTED', 'Running'],
  ['RETRY', 'Retrying'],
  ['SUCCESS', 'Succeeded'],
  ['FAILURE', 'Failed'],
];

async function refreshDashboard() {
  const live = $('dash-live');
  try {
    const m = await api.metrics();
    const byState = m.tasks?.by_state;
    $('dash-tasks').replaceChildren(
      ...STATES.flatMap(([key, label]) => {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.textContent = byState ? String(byState[key] ?? 0) : '–';
        dd.dataset.state = key;
        return [dt, dd];
      }),
    );
    const lat = m.performance?.latency_ms ?? {};
    $('dash-p50').textContent = formatMs(lat.p50);
    $('dash-p99').textContent = formatMs(lat.p99);
    const cache = m.caches?.embeddings;
    $('dash-hit').textContent =
      cache && typeof cache.hit_ratio === 'number' ? `${Math.round(cache.hit_ratio * 100)} %` : '–';
    $('dash-cache').textContent =
      cache && typeof cache.hits === 'number'
        ? `${cache.hits} hits, ${cache.misses} misses, ${cache.size} entries (${cache.backend})`
        : '';
    $('dash-updated').textContent =
      `Updated ${new Date().toLocaleTimeString()}, every ${METRICS_EVERY_MS / 1000} s.`;
    live.textContent = 'live';
    live.className = 'live';
  } catch (err) {
    live.textContent = 'offline';
    live.className = 'live offline';
    if (err instanceof ApiError && err.code === 'UNAUTHORIZED') needKey(false);
  }
}

function formatMs(v) {
  return typeof v === 'number' ? `${v < 10 ? v.toFixed(1) : Math.round(v)} ms` : '–';
}

// ---------------------------------------------------------------------------------------------------
// Start

const opened = Object.entries(HASHES).find(([, hash]) => hash === location.hash);
if (opened) selectTab($(opened[0]), false);
updateVerifyButton();
// Whether the service wants an API key: a cheap request that needs one when keys are configured.
api.metrics().catch((err) => {
  if (err instanceof ApiError && err.code === 'UNAUTHORIZED') needKey(false);
});

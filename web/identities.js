/**
 * The Identities view: galleries of enrolled subjects through the public gallery routes
 * (docs/identities.md). Pick or name a gallery, enrol a photo under a subject, browse galleries →
 * subjects → faces, verify a photo against a subject, search a gallery for who a photo shows (an empty
 * answer is an unknown person, said in words), and delete a face, a subject or a gallery after a
 * confirmation. Errors are shown as the other views show theirs (`.form-error`, code in brackets).
 */
import { ApiError, sameOrigin } from './api.js';
import { formatPercent, photoHint } from './format.js';

/** The service's own rule for gallery and subject names. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {{ api: ReturnType<typeof import('./api.js').createApi>, needKey: (focus: boolean) => void }} deps
 * @returns {{ show: () => void }}
 */
export function initIdentities({ api, needKey }) {
  const g = api.galleries;
  const galleryInput = /** @type {HTMLInputElement} */ ($('gallery-name'));
  const subjectInput = /** @type {HTMLInputElement} */ ($('id-subject'));
  const fileInput = /** @type {HTMLInputElement} */ ($('id-file'));
  const urlInput = /** @type {HTMLInputElement} */ ($('id-url'));
  const figure = /** @type {HTMLElement} */ (document.querySelector('#id-form .photo'));
  const img = /** @type {HTMLImageElement} */ (figure.querySelector('img'));
  const caption = /** @type {HTMLElement} */ (figure.querySelector('figcaption'));
  const form = /** @type {HTMLFormElement} */ ($('id-form'));

  /** @type {{ gallery: string, subject: string, next: string | undefined, file: File | undefined, objectUrl: string | undefined }} */
  const state = { gallery: '', subject: '', next: undefined, file: undefined, objectUrl: undefined };

  // ------------------------------------------------------------------------------------------------
  // Errors and status

  /**
   * A refused request in words: what to do about it, then the service's message and code.
   *
   * @param {unknown} err
   */
  function describe(err) {
    if (!(err instanceof ApiError))
      return `Something went wrong: ${err instanceof Error ? err.message : err}`;
    if (err.code === 'UNAUTHORIZED') {
      needKey(true);
      return 'This service needs an API key: enter it above, then try again.';
    }
    const hint = photoHint(err.code);
    return `${hint ? `${hint} ` : ''}${err.message} (${err.code})`;
  }

  const setError = (id, message) => ($(id).textContent = message);

  /** Runs one user action with the form marked busy; errors go to `errorId`. */
  async function busy(errorId, status, action) {
    setError('browse-error', '');
    setError('id-error', '');
    form.dataset.state = 'busy';
    form.setAttribute('aria-busy', 'true');
    $('id-status').textContent = status;
    try {
      await action();
      form.dataset.state = 'done';
    } catch (err) {
      form.dataset.state = 'error';
      setError(errorId, describe(err));
    } finally {
      $('id-status').textContent = '';
      form.removeAttribute('aria-busy');
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Browsing: galleries → subjects → faces

  async function refreshGalleries() {
    const { galleries } = await g.list();
    const list = $('gallery-list');
    list.replaceChildren(
      ...galleries.map((info) =>
        item(
          info.gallery,
          `${plural(info.subjects, 'subject')}, ${plural(info.faces, 'face')}`,
          info.gallery === state.gallery,
          () => void busy('browse-error', 'Loading…', () => openGallery(info.gallery)),
        ),
      ),
    );
    $('gallery-options').replaceChildren(
      ...galleries.map((info) => Object.assign(document.createElement('option'), { value: info.gallery })),
    );
    $('gallery-empty').hidden = galleries.length > 0;
    return galleries;
  }

  /**
   * A list entry: a button naming the thing, and a line about it.
   *
   * @param {string} name
   * @param {string} about
   * @param {boolean} current
   * @param {() => void} onClick
   */
  function item(name, about, current, onClick) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'pick';
    button.dataset.name = name;
    if (current) button.setAttribute('aria-current', 'true');
    const strong = document.createElement('strong');
    strong.textContent = name;
    const span = document.createElement('span');
    span.className = 'hint';
    span.textContent = about;
    button.append(strong, ' ', span);
    button.addEventListener('click', onClick);
    li.append(button);
    return li;
  }

  /** Opens a gallery by name: its subjects, or word that it will be created by its first enrolment. */
  async function openGallery(name) {
    if (!NAME.test(name)) throw new Error('A gallery name is 1–64 of A–Z a–z 0–9 _ . -');
    state.gallery = name;
    state.subject = '';
    state.next = undefined;
    galleryInput.value = name;
    $('subject-detail').hidden = true;
    $('gallery-detail').hidden = false;
    $('gallery-title').textContent = `Gallery ${name}`;
    $('subject-list').replaceChildren();
    const galleries = await refreshGalleries();
    const info = galleries.find((x) => x.gallery === name);
    if (!info) {
      $('gallery-facts').textContent = 'A new gallery: enrol a first photo to create it.';
      $('gallery-delete').hidden = true;
      $('subjects-more').hidden = true;
      return;
    }
    $('gallery-facts').textContent =
      `${plural(info.subjects, 'subject')}, ${plural(info.faces, 'face')} — model ${info.model}, since ${day(info.created_at)}`;
    $('gallery-delete').hidden = false;
    await loadSubjects(false);
  }

  /** The gallery's subjects, a page at a time (`more`: the next page after those shown). */
  async function loadSubjects(more) {
    const page = await g.subjects(state.gallery, more ? state.next : undefined);
    const entries = page.subjects.map((s) =>
      item(
        s.subject,
        `${plural(s.faces, 'face')}${s.expires_at ? `, kept until ${day(s.expires_at)}` : ''}`,
        s.subject === state.subject,
        () => void busy('browse-error', 'Loading…', () => openSubject(s.subject)),
      ),
    );
    if (more) $('subject-list').append(...entries);
    else $('subject-list').replaceChildren(...entries);
    state.next = page.next;
    $('subjects-more').hidden = !page.next;
  }

  async function openSubject(name) {
    const detail = await g.subject(state.gallery, name);
    state.subject = name;
    subjectInput.value = name;
    for (const b of $('subject-list').querySelectorAll('button.pick')) {
      b.toggleAttribute('aria-current', /** @type {HTMLElement} */ (b).dataset.name === name);
    }
    $('subject-title').textContent = `Subject ${name}`;
    $('subject-facts').textContent = [
      `${plural(detail.faces, 'face')}`,
      `enrolled ${day(detail.created_at)}`,
      detail.expires_at ? `kept until ${day(detail.expires_at)}` : 'kept until deleted',
      ...(detail.consent_ref ? [`consent ${detail.consent_ref}`] : []),
    ].join(' · ');
    const tbody = /** @type {HTMLElement} */ ($('face-table').querySelector('tbody'));
    tbody.replaceChildren(
      ...detail.faces_list.map((f) => {
        const tr = document.createElement('tr');
        tr.dataset.faceId = f.face_id;
        const cells = [f.face_id.slice(0, 8), new Date(f.created_at).toLocaleString(), f.score.toFixed(3)];
        for (const text of cells) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        /** @type {HTMLElement} */ (tr.firstChild).title = f.face_id;
        const td = document.createElement('td');
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'danger small';
        del.textContent = 'Delete';
        del.setAttribute('aria-label', `Delete face ${f.face_id.slice(0, 8)} of ${name}`);
        del.addEventListener('click', () => void removeFace(f.face_id));
        td.append(del);
        tr.append(td);
        return tr;
      }),
    );
    $('subject-detail').hidden = false;
  }

  /** After a change: the lists again, and the open subject if it is still there. */
  async function reload() {
    const subject = state.subject;
    await openGallery(state.gallery);
    if (!subject) return;
    try {
      await openSubject(subject);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'SUBJECT_NOT_FOUND')) throw err;
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Deleting, after a confirmation

  /** @param {string} what */
  const confirmed = (what) => window.confirm(`Delete ${what}? This cannot be undone.`);

  /** @param {string} faceId */
  async function removeFace(faceId) {
    const { gallery, subject } = state;
    if (!confirmed(`face ${faceId.slice(0, 8)} of ${subject}`)) return;
    await busy('browse-error', 'Deleting…', async () => {
      await g.deleteFace(gallery, subject, faceId);
      showNote('Deleted', `Face ${faceId.slice(0, 8)} of ${subject} was deleted.`);
      await reload();
    });
  }

  $('subject-delete').addEventListener('click', () => {
    const { gallery, subject } = state;
    if (!confirmed(`subject ${subject} and all of their faces from ${gallery}`)) return;
    void busy('browse-error', 'Deleting…', async () => {
      const { deleted_faces: n } = await g.deleteSubject(gallery, subject);
      showNote('Deleted', `Subject ${subject} was deleted with ${plural(n, 'face')}.`);
      state.subject = '';
      await openGallery(gallery);
    });
  });

  $('gallery-delete').addEventListener('click', () => {
    const { gallery } = state;
    if (!confirmed(`gallery ${gallery} with every subject and face in it`)) return;
    void busy('browse-error', 'Deleting…', async () => {
      const { deleted_faces: n } = await g.deleteGallery(gallery);
      showNote('Deleted', `Gallery ${gallery} was deleted with ${plural(n, 'face')}.`);
      state.gallery = '';
      state.subject = '';
      galleryInput.value = '';
      $('gallery-detail').hidden = true;
      $('subject-detail').hidden = true;
      await refreshGalleries();
    });
  });

  $('subjects-more').addEventListener(
    'click',
    () => void busy('browse-error', 'Loading…', () => loadSubjects(true)),
  );

  $('gallery-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void busy('browse-error', 'Loading…', () => openGallery(galleryInput.value.trim()));
  });

  // ------------------------------------------------------------------------------------------------
  // The photo

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    state.file = file;
    state.objectUrl = URL.createObjectURL(file);
    urlInput.value = '';
    img.src = state.objectUrl;
    caption.textContent = file.name;
    figure.hidden = false;
  });

  urlInput.addEventListener('change', () => {
    const url = urlInput.value.trim();
    if (!url) return;
    state.file = undefined;
    fileInput.value = '';
    // The page's CSP loads images from this service only: a photo elsewhere is fetched by the service.
    if (sameOrigin(url)) img.src = url;
    else img.removeAttribute('src');
    caption.textContent = sameOrigin(url) ? url : `${url} — fetched by the service; not shown here`;
    figure.hidden = false;
  });

  /** The photo as the gallery routes take it: file `image`, or field `image_url`. */
  function photoForm() {
    const body = new FormData();
    const url = urlInput.value.trim();
    if (state.file) body.append('image', state.file, state.file.name);
    else if (url) body.append('image_url', url);
    else throw new Error('Choose a photo (or give its URL) first.');
    return body;
  }

  /** The gallery to work in: the one open, else the one typed. */
  function galleryName() {
    const name = state.gallery || galleryInput.value.trim();
    if (!name) throw new Error('Pick a gallery, or type the name of a new one, first.');
    if (!NAME.test(name)) throw new Error('A gallery name is 1–64 of A–Z a–z 0–9 _ . -');
    return name;
  }

  function subjectName() {
    const name = subjectInput.value.trim();
    if (!name) throw new Error('Give the subject’s name first.');
    if (!NAME.test(name)) throw new Error('A subject name is 1–64 of A–Z a–z 0–9 _ . -');
    return name;
  }

  // ------------------------------------------------------------------------------------------------
  // Enrol, verify, search

  $('id-enrol').addEventListener('click', () => {
    void busy('id-error', 'Enrolling…', async () => {
      const gallery = galleryName();
      const subject = subjectName();
      const face = await g.enrol(gallery, subject, photoForm());
      showNote(
        'Enrolled',
        `${subject} is enrolled in ${gallery} (face ${face.face_id.slice(0, 8)}, detection score ${face.score.toFixed(3)}).`,
      );
      state.gallery = gallery;
      state.subject = subject;
      await reload();
    });
  });

  $('id-verify').addEventListener('click', () => {
    void busy('id-error', 'Verifying…', async () => {
      const gallery = galleryName();
      const subject = subjectName();
      const r = await g.verify(gallery, subject, photoForm());
      showResult(
        r.is_match ? 'match' : 'no-match',
        r.is_match ? `Same person: ${subject}` : `Not ${subject}`,
        `Cosine similarity ${r.metrics.cosine_similarity.toFixed(3)} against the threshold ` +
          `${r.threshold.cosine_similarity.toFixed(3)}, confidence ${formatPercent(r.confidence)} — ` +
          `the closest of ${subject}’s faces is ${r.matched_face_id.slice(0, 8)}.`,
      );
    });
  });

  $('id-search').addEventListener('click', () => {
    void busy('id-error', 'Searching…', async () => {
      const gallery = galleryName();
      const r = await g.search(gallery, photoForm());
      const best = r.matches[0];
      if (!best) {
        showResult(
          'unknown',
          'Unknown person',
          `Nobody in ${gallery} is at or above the threshold (cosine similarity ${r.threshold.toFixed(3)}).`,
        );
        return;
      }
      showResult(
        'match',
        `Best match: ${best.subject}`,
        `${plural(r.matches.length, 'subject')} at or above the threshold ` +
          `(cosine similarity ${r.threshold.toFixed(3)}), best first.`,
        r.matches,
      );
    });
  });

  // ------------------------------------------------------------------------------------------------
  // The answer

  /**
   * @param {'match' | 'no-match' | 'unknown' | 'note'} kind
   * @param {string} verdict
   * @param {string} detail
   * @param {{ subject: string, cosine_similarity: number, confidence: number }[]} [matches]
   */
  function showResult(kind, verdict, detail, matches) {
    const section = $('id-result');
    section.dataset.kind = kind;
    $('id-verdict').textContent = verdict;
    $('id-detail').textContent = detail;
    const table = $('match-table');
    const tbody = /** @type {HTMLElement} */ (table.querySelector('tbody'));
    tbody.replaceChildren(
      ...(matches ?? []).map((m, i) => {
        const tr = document.createElement('tr');
        for (const text of [
          String(i + 1),
          m.subject,
          m.cosine_similarity.toFixed(3),
          formatPercent(m.confidence),
        ]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    table.hidden = !matches?.length;
    section.hidden = false;
    $('id-verdict').focus({ preventScroll: true });
  }

  /** A confirmation of something done (enrolled, deleted). */
  const showNote = (verdict, detail) => showResult('note', verdict, detail);

  return {
    /** Called when the view is shown: the galleries as they are now. */
    show() {
      void busy('browse-error', 'Loading…', async () => {
        await refreshGalleries();
      });
    },
  };
}

/**
 * @param {number} n
 * @param {string} word
 * @example plural(2, 'face') // "2 faces"
 */
function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** @param {string} iso */
function day(iso) {
  return new Date(iso).toLocaleDateString();
}

/**
 * Exact 1:N search over one gallery's templates, held in memory.
 *
 * Layout: one contiguous Float32Array of `capacity × dim` floats (row i = face in slot i), grown by
 * doubling; a face's slot is found through a Map; deleting moves the last row into the freed slot
 * (swap-remove), so rows stay dense and a search is one linear pass over `size × dim` floats. Vectors
 * are unit length (the embedder's output; `add` re-normalises anyway), so a dot product is the cosine
 * similarity.
 *
 * The pass scores two rows at a time, each dot product unrolled by four with four independent
 * accumulators: the probe's values are loaded once for both rows and the adds do not wait on each
 * other (faster than one row unrolled by four, or four rows at once; figures in docs/identities.md). Results keep one entry
 * per subject (its best face), at or above the threshold, best first, at most `limit`.
 *
 * Pure: no I/O, no clock. The store keeps one per gallery (src/gallery/indexed-gallery-store.ts).
 */

export interface SearchHit {
  subject: string;
  faceId: string;
  /** Cosine similarity of the probe and the subject's best face. */
  score: number;
}

export interface SearchOptions {
  /** Most subjects to return (best first). */
  limit: number;
  /** Only subjects whose best face scores at least this. */
  threshold: number;
  /** Faces to leave out (for example faces found deleted since they were indexed). */
  exclude?: ReadonlySet<string>;
}

const INITIAL_CAPACITY = 64;

/**
 * The templates of one gallery, with exact search.
 *
 * @example
 * const index = new SearchIndex(192);
 * index.add('face-1', 'alice', embedding);
 * index.search(probe, { limit: 5, threshold: 0.4 }); // [{ subject: 'alice', faceId: 'face-1', score: 0.83 }]
 */
export class SearchIndex {
  readonly dim: number;
  private data: Float32Array;
  private faceIds: string[] = [];
  private subjects: string[] = [];
  private slots = new Map<string, number>();
  /** Faces per subject, so the number of subjects is known without a scan. */
  private faceCounts = new Map<string, number>();

  constructor(dim: number, capacity = INITIAL_CAPACITY) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dimension must be a positive integer`);
    this.dim = dim;
    this.data = new Float32Array(Math.max(1, capacity) * dim);
  }

  get size(): number {
    return this.faceIds.length;
  }

  /** Subjects with at least one face here. */
  get subjectCount(): number {
    return this.faceCounts.size;
  }

  /** Floats allocated (capacity × dim), for memory figures. */
  get allocatedFloats(): number {
    return this.data.length;
  }

  has(faceId: string): boolean {
    return this.slots.has(faceId);
  }

  /** Adds a face; a face id already present is left as it is (adds are idempotent). */
  add(faceId: string, subject: string, embedding: Float32Array): void {
    if (embedding.length !== this.dim) {
      throw new RangeError(`embedding has ${embedding.length} values, the index ${this.dim}`);
    }
    if (this.slots.has(faceId)) return;
    const slot = this.faceIds.length;
    if ((slot + 1) * this.dim > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    let norm = 0;
    for (let j = 0; j < this.dim; j++) norm += (embedding[j] as number) ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const base = slot * this.dim;
    for (let j = 0; j < this.dim; j++) this.data[base + j] = (embedding[j] as number) * scale;
    this.faceIds.push(faceId);
    this.subjects.push(subject);
    this.slots.set(faceId, slot);
    this.faceCounts.set(subject, (this.faceCounts.get(subject) ?? 0) + 1);
  }

  /** Removes a face; answers whether it was there. */
  remove(faceId: string): boolean {
    const slot = this.slots.get(faceId);
    if (slot === undefined) return false;
    const subject = this.subjects[slot] as string;
    const left = (this.faceCounts.get(subject) ?? 1) - 1;
    if (left > 0) this.faceCounts.set(subject, left);
    else this.faceCounts.delete(subject);
    const last = this.faceIds.length - 1;
    if (slot !== last) {
      this.data.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
      const movedId = this.faceIds[last] as string;
      this.faceIds[slot] = movedId;
      this.subjects[slot] = this.subjects[last] as string;
      this.slots.set(movedId, slot);
    }
    this.faceIds.pop();
    this.subjects.pop();
    this.slots.delete(faceId);
    return true;
  }

  /** Removes every face of a subject; answers how many. */
  removeSubject(subject: string): number {
    const ids = this.faceIds.filter((_, i) => this.subjects[i] === subject);
    for (const id of ids) this.remove(id);
    return ids.length;
  }

  /**
   * The best face of each subject scoring at least `threshold` against `probe`, best first, at most
   * `limit` subjects. Ties keep the face in the lower slot.
   */
  search(probe: Float32Array, options: SearchOptions): SearchHit[] {
    const { dim } = this;
    if (probe.length !== dim) throw new RangeError(`probe has ${probe.length} values, the index ${dim}`);
    const n = this.faceIds.length;
    const data = this.data;
    const scores = new Float32Array(n);
    const tail = dim - (dim % 4);
    let i = 0;
    // Two rows per pass share each probe load; four accumulators per row keep the adds independent.
    for (; i + 1 < n; i += 2) {
      const b = i * dim;
      const c = b + dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      let j = 0;
      for (; j < tail; j += 4) {
        const p0 = probe[j] as number;
        const p1 = probe[j + 1] as number;
        const p2 = probe[j + 2] as number;
        const p3 = probe[j + 3] as number;
        s0 += (data[b + j] as number) * p0;
        s1 += (data[b + j + 1] as number) * p1;
        s2 += (data[b + j + 2] as number) * p2;
        s3 += (data[b + j + 3] as number) * p3;
        t0 += (data[c + j] as number) * p0;
        t1 += (data[c + j + 1] as number) * p1;
        t2 += (data[c + j + 2] as number) * p2;
        t3 += (data[c + j + 3] as number) * p3;
      }
      for (; j < dim; j++) {
        s0 += (data[b + j] as number) * (probe[j] as number);
        t0 += (data[c + j] as number) * (probe[j] as number);
      }
      scores[i] = s0 + s1 + s2 + s3;
      scores[i + 1] = t0 + t1 + t2 + t3;
    }
    if (i < n) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (data[i * dim + j] as number) * (probe[j] as number);
      scores[i] = s;
    }
    const exclude = options.exclude;
    const best = new Map<string, number>(); // subject → slot of its best face so far
    for (let k = 0; k < n; k++) {
      const score = scores[k] as number;
      if (score < options.threshold) continue;
      if (exclude && exclude.has(this.faceIds[k] as string)) continue;
      const subject = this.subjects[k] as string;
      const held = best.get(subject);
      if (held === undefined || score > (scores[held] as number)) best.set(subject, k);
    }
    return [...best.values()]
      .sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b)
      .slice(0, Math.max(0, options.limit))
      .map((slot) => ({
        subject: this.subjects[slot] as string,
        faceId: this.faceIds[slot] as string,
        score: scores[slot] as number,
      }));
  }
}

/**
 * Arbitraries for HTTP fuzzing: JSON, urlencoded and multipart bodies, content types, image URLs,
 * paths, methods and headers. Each generates a small *spec* that fast-check can print and shrink
 * (an upload is `Upload(face1)`, not 90 KB of base64); `payloadOf` turns it into the bytes inject() sends.
 * Every image URL passes through `keepOnLoopback`, so nothing generated leaves 127.0.0.1.
 */
import fc from 'fast-check';
import { readFace } from '../../support/faces.js';
import { mutatedImage, type MutatedImage } from './image-mutations.js';
import { keepOnLoopback, LOOPBACK_HOSTS, type LoopbackImages } from './loopback-images.js';

const SAMPLES = {
  face1: 'sanity/face_recognition/obama/obama.jpg',
  face2: 'sanity/face_recognition/obama/obama2.jpg',
  other: 'sanity/face_recognition/biden/biden.jpg',
  noFace: 'edge/no_face/flat_gray_640x480.jpg',
  twoFaces: 'edge/multi_face/voc_2008_001009.jpg',
  text: 'edge/invalid/text_file.jpg',
  html: 'edge/invalid/html_error_page.jpg',
  truncated: 'edge/invalid/truncated_header_only.jpg',
  zero: 'edge/invalid/zero_bytes.jpg',
} as const;
type SampleName = keyof typeof SAMPLES;

const sampleBytes = new Map<SampleName, Buffer>();
function sample(name: SampleName): Buffer {
  let b = sampleBytes.get(name);
  if (!b) {
    b = readFace(SAMPLES[name]);
    sampleBytes.set(name, b);
  }
  return b;
}

export type UploadSpec =
  | { kind: 'sample'; name: SampleName }
  | { kind: 'mutated'; image: MutatedImage }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'oversize' };

/**
 * Image bytes in a body. In JSON and urlencoded bodies it is written as base64 (optionally spoiled:
 * a data-URL prefix, base64url, characters outside the alphabet, cut in the middle of a quantum).
 */
export class Upload {
  constructor(
    readonly spec: UploadSpec,
    readonly encoding: 'base64' | 'data-url' | 'base64url' | 'spoiled' | 'cut',
    private readonly maxBytes: number,
  ) {}

  bytes(): Buffer {
    switch (this.spec.kind) {
      case 'sample':
        return sample(this.spec.name);
      case 'mutated':
        return this.spec.image.bytes();
      case 'random':
        return Buffer.from(this.spec.bytes);
      case 'oversize':
        return Buffer.alloc(this.maxBytes + 1, 0xff);
    }
  }

  text(): string {
    const bytes = this.bytes();
    switch (this.encoding) {
      case 'base64':
        return bytes.toString('base64');
      case 'data-url':
        return `data:image/jpeg;base64,${bytes.toString('base64')}`;
      case 'base64url':
        return bytes.toString('base64url');
      case 'spoiled':
        return `${bytes.toString('base64').slice(0, 64)}!*~ \u00e9\u0000${bytes.toString('base64').slice(64)}`;
      case 'cut':
        return bytes.toString('base64').slice(0, Math.max(1, Math.floor((bytes.length * 4) / 3) - 3));
    }
  }

  toJSON(): string {
    return this.text();
  }

  [fc.toStringMethod](): string {
    const { spec } = this;
    const what =
      spec.kind === 'sample'
        ? spec.name
        : spec.kind === 'mutated'
          ? `${spec.image.file} ${JSON.stringify(spec.image.mutations)}`
          : spec.kind === 'random'
            ? `random ${spec.bytes.length} bytes`
            : 'oversize';
    return `Upload(${what}, ${this.encoding})`;
  }
}

/** A JSON-able value in which uploads may appear. */
export type BodyValue = string | number | boolean | null | Upload | BodyValue[] | { [k: string]: BodyValue };

export interface HttpInputs {
  imageUrl: fc.Arbitrary<string>;
  upload: fc.Arbitrary<Upload>;
  jsonRequest: fc.Arbitrary<FuzzRequest>;
  urlencodedRequest: fc.Arbitrary<FuzzRequest>;
  multipartRequest: fc.Arbitrary<FuzzRequest>;
  contentTypeRequest: fc.Arbitrary<FuzzRequest>;
  urlRequest: fc.Arbitrary<FuzzRequest>;
  routeRequest: fc.Arbitrary<FuzzRequest>;
  statusRequest: fc.Arbitrary<FuzzRequest>;
}

/** A request as a printable spec; `payload()` builds the bytes. */
export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
  url: string;
  headers: Record<string, string>;
  body?: BodySpec;
}

export type BodySpec =
  | { type: 'json'; value: BodyValue }
  | { type: 'raw'; text: string }
  | { type: 'bytes'; bytes: Uint8Array }
  | { type: 'urlencoded'; pairs: [string, BodyValue][] }
  | { type: 'multipart'; multipart: MultipartSpec };

export interface PartSpec {
  /** undefined: no name parameter at all. */
  name: string | undefined;
  file: { filename: string; contentType: string | undefined } | undefined;
  content: BodyValue;
}

export interface MultipartSpec {
  boundary: string;
  preamble: string;
  parts: PartSpec[];
  /** How the body ends: properly, without the closing boundary, or cut inside the last part. */
  ending: 'close' | 'missing' | 'cut';
  /** What the Content-Type header says: the body's boundary, none, or another one. */
  header: 'same' | 'none' | 'other';
}

function valueText(v: BodyValue): string {
  if (v instanceof Upload) return v.text();
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function multipartPayload(m: MultipartSpec): Buffer {
  const chunks: Buffer[] = [Buffer.from(m.preamble)];
  for (const part of m.parts) {
    let disposition = 'form-data';
    if (part.name !== undefined) disposition += `; name="${part.name}"`;
    if (part.file) disposition += `; filename="${part.file.filename}"`;
    let head = `--${m.boundary}\r\nContent-Disposition: ${disposition}\r\n`;
    if (part.file?.contentType !== undefined) head += `Content-Type: ${part.file.contentType}\r\n`;
    const content =
      part.content instanceof Upload && part.file
        ? part.content.bytes()
        : Buffer.from(valueText(part.content));
    chunks.push(Buffer.from(`${head}\r\n`), content, Buffer.from('\r\n'));
  }
  if (m.ending === 'close') chunks.push(Buffer.from(`--${m.boundary}--\r\n`));
  const body = Buffer.concat(chunks);
  return m.ending === 'cut' ? body.subarray(0, Math.floor(body.length * 0.9)) : body;
}

/** The payload and the content type the spec implies (headers given explicitly win). */
export function payloadOf(req: FuzzRequest): { payload?: Buffer | string; contentType?: string } {
  const body = req.body;
  if (!body) return {};
  switch (body.type) {
    case 'json':
      return { payload: JSON.stringify(body.value), contentType: 'application/json' };
    case 'raw':
      return { payload: body.text };
    case 'bytes':
      return { payload: Buffer.from(body.bytes) };
    case 'urlencoded':
      return {
        payload: new URLSearchParams(
          body.pairs.map(([k, v]): [string, string] => [k, valueText(v)]),
        ).toString(),
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'multipart': {
      const m = body.multipart;
      const boundary =
        m.header === 'same' ? `; boundary=${m.boundary}` : m.header === 'other' ? '; boundary=zz' : '';
      return { payload: multipartPayload(m), contentType: `multipart/form-data${boundary}` };
    }
  }
}

const VERIFY_PATHS = ['/verify', '/verify/sync', '/verify?wait=true', '/verify/batch'] as const;
const KNOWN_FIELDS = ['image1_url', 'image2_url', 'image1', 'image2', 'face_policy', 'threshold'] as const;

/** A string of `n` characters, cheap to build however long. */
const longString = fc
  .tuple(fc.integer({ min: 1024, max: 6000 }), fc.constantFrom('a', '/', '%', '\u00e9', '=', '\u0000'))
  .map(([n, ch]) => ch.repeat(n));

const smallJson = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<BodyValue>;

export function httpInputs(lb: Pick<LoopbackImages, 'port' | 'closedPort' | 'paths'>, maxImageBytes: number) {
  const upload = fc
    .tuple(
      fc.oneof(
        // Photos of one face half the time, so that many tasks get through the whole pipeline.
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('sample' as const),
            name: fc.constantFrom<SampleName>('face1', 'face2', 'other'),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('sample' as const),
            name: fc.constantFrom(...(Object.keys(SAMPLES) as SampleName[])),
          }),
        },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('mutated' as const), image: mutatedImage }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('random' as const),
            bytes: fc.uint8Array({ maxLength: 512 }),
          }),
        },
        { weight: 1, arbitrary: fc.constant({ kind: 'oversize' as const }) },
      ),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant('base64' as const) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'data-url' as const,
            'base64url' as const,
            'spoiled' as const,
            'cut' as const,
          ),
        },
      ),
    )
    .map(([spec, encoding]) => new Upload(spec, encoding, maxImageBytes));

  const loopbackUrl = fc
    .record({
      scheme: fc.constantFrom('http', 'http', 'https', 'HTTP', 'hTtP'),
      userinfo: fc.oneof(
        { weight: 6, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('user:pass@', 'user@', ':@', 'a%40b:c@', '@') },
      ),
      host: fc.oneof(
        { weight: 4, arbitrary: fc.constant('127.0.0.1') },
        { weight: 1, arbitrary: fc.constantFrom(...LOOPBACK_HOSTS) },
      ),
      port: fc.constantFrom(lb.port, lb.port, lb.port, lb.closedPort),
      path: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...lb.paths) },
        { weight: 1, arbitrary: fc.webPath() },
        {
          weight: 1,
          arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
        },
      ),
      query: fc.option(fc.webQueryParameters(), { nil: undefined, freq: 4 }),
      fragment: fc.option(fc.webFragments(), { nil: undefined, freq: 6 }),
    })
    .map(
      (u) =>
        `${u.scheme}://${u.userinfo}${u.host}:${u.port}${u.path}${u.query !== undefined ? `?${u.query}` : ''}${u.fragment !== undefined ? `#${u.fragment}` : ''}`,
    );

  // Never dialled: the scheme is refused first. These may name any host, IPv6 literals included.
  const otherScheme = fc
    .tuple(
      fc.constantFrom(
        'ftp',
        'file',
        'gopher',
        'data',
        'javascript',
        'ws',
        'wss',
        'blob',
        'mailto',
        'ldap',
        'dict',
        'jar',
        'x',
      ),
      fc.oneof(
        fc.ipV6().map((a) => `[${a}]`),
        fc.ipV4(),
        fc.domain(),
        fc.constant('169.254.169.254'),
      ),
      fc.webPath(),
    )
    .map(([s, h, p]) => `${s}://${h}${p}`);

  const oddUrl = fc.constantFrom(
    '',
    ' ',
    'http://',
    'http:///face1.jpg',
    'http://[::1',
    'http://[zz::1]/',
    'http://[::ffff:127.0.0.1',
    `//127.0.0.1:${lb.port}/face1.jpg`,
    `http:\\\\127.0.0.1:${lb.port}\\face1.jpg`,
    `http://127.0.0.1:${lb.port}:${lb.port}/face1.jpg`,
    'http://127.0.0.1:99999/',
    'http://127.0.0.1:-1/',
    `  http://127.0.0.1:${lb.port}/face1.jpg  `,
    `http://127.0.0.1:${lb.port}/face1.jpg\u0000`,
    `http://127.0.0.1:${lb.port}/%2e%2e/%2e%2e/etc/passwd`,
    'data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==',
    'javascript:alert(1)',
    'file:///etc/passwd',
  );

  const longUrl = fc
    .tuple(fc.integer({ min: 1500, max: 5000 }), fc.constantFrom(lb.port, lb.closedPort))
    .map(([n, port]) => `http://127.0.0.1:${port}/face1.jpg?${'a'.repeat(n)}`);

  const garbage = fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ maxLength: 100 }));

  // Images the server has, by a plain URL: so that many tasks get as far as the pipeline.
  const goodUrl = fc
    .constantFrom(
      'face1.jpg',
      'face1.jpg',
      'face2.jpg',
      'face2.jpg',
      'noface.jpg',
      'text.jpg',
      'truncated.jpg',
      'svg',
    )
    .map((file) => `http://127.0.0.1:${lb.port}/${file}`);

  const imageUrl = fc
    .oneof(
      { weight: 10, arbitrary: goodUrl },
      { weight: 6, arbitrary: loopbackUrl },
      { weight: 2, arbitrary: otherScheme },
      { weight: 2, arbitrary: oddUrl },
      { weight: 1, arbitrary: longUrl },
      { weight: 2, arbitrary: garbage },
    )
    .map((s) => keepOnLoopback(s, lb));

  const policy: fc.Arbitrary<BodyValue> = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('strict', 'largest', 'center') },
    { weight: 1, arbitrary: fc.constantFrom('STRICT', ' largest', '', 'none', 'strict\u0000') },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: smallJson },
  );

  const threshold: fc.Arbitrary<BodyValue> = fc.oneof(
    { weight: 12, arbitrary: fc.double({ min: -1, max: 1, noNaN: true }) },
    { weight: 2, arbitrary: fc.double() },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        -1,
        1,
        0,
        -0,
        1.0000001,
        -2,
        1e308,
        5e-324,
        '0.5',
        '',
        'NaN',
        'Infinity',
        '1e999',
        true,
        null,
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: smallJson },
  );

  const junk: fc.Arbitrary<BodyValue> = fc.oneof(smallJson, longString);
  const withJunk = (a: fc.Arbitrary<BodyValue>): fc.Arbitrary<BodyValue> =>
    fc.oneof({ weight: 6, arbitrary: a }, { weight: 1, arbitrary: junk });

  /** A verify body: each known field present or not, sometimes of the wrong type, plus unknown fields. */
  /** How a body gives image n: mostly one of the two valid ways; sometimes both, neither, or junk. */
  const imageGiven = (n: 1 | 2): fc.Arbitrary<Record<string, BodyValue>> =>
    fc.oneof(
      { weight: 6, arbitrary: imageUrl.map((u) => ({ [`image${n}_url`]: u })) },
      { weight: 6, arbitrary: upload.map((f) => ({ [`image${n}`]: f })) },
      {
        weight: 1,
        arbitrary: fc.tuple(imageUrl, upload).map(([u, f]) => ({ [`image${n}_url`]: u, [`image${n}`]: f })),
      },
      { weight: 1, arbitrary: fc.constant({}) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(`image${n}_url`, `image${n}`), junk)
          .map(([k, v]) => ({ [k]: v })),
      },
    );

  /** A verify body: the two images, options (sometimes of the wrong type), sometimes unknown fields. */
  const verifyObject = fc
    .tuple(
      imageGiven(1),
      imageGiven(2),
      fc.record({ face_policy: policy, threshold }, { requiredKeys: [] }),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), smallJson, { maxKeys: 3 }) },
      ),
    )
    .map(([a, b, options, extra]): BodyValue => ({ ...extra, ...a, ...b, ...options }));

  const batchObject = fc
    .tuple(
      fc.record(
        {
          image_pairs: fc.oneof(
            { weight: 6, arbitrary: fc.array(fc.tuple(imageUrl, imageUrl), { maxLength: 5 }) },
            {
              weight: 1,
              arbitrary: fc.array(fc.array(withJunk(imageUrl), { maxLength: 3 }), { maxLength: 4 }),
            },
            { weight: 1, arbitrary: smallJson },
          ),
          face_policy: policy,
          threshold,
        },
        { requiredKeys: [] },
      ),
      fc.oneof(
        { weight: 5, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), smallJson, { maxKeys: 3 }) },
      ),
    )
    .map(([known, extra]): BodyValue => ({ ...extra, ...known }));

  const verifyPath = fc.constantFrom(...VERIFY_PATHS);

  const singlePath = fc.constantFrom('/verify', '/verify/sync', '/verify?wait=true');
  const json = (url: string, value: BodyValue): FuzzRequest => ({
    method: 'POST',
    url,
    headers: {},
    body: { type: 'json', value },
  });

  /** Mostly a body that suits its endpoint; sometimes the other kind, or any JSON at all. */
  const jsonRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(singlePath, verifyObject).map(([url, value]) => json(url, value)) },
    { weight: 3, arbitrary: batchObject.map((value) => json('/verify/batch', value)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(verifyPath, fc.oneof(verifyObject, batchObject, smallJson, longString))
        .map(([url, value]) => json(url, value)),
    },
  );

  const fieldName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...KNOWN_FIELDS) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'image_pairs',
        'wait',
        '__proto__',
        'constructor',
        'image1[]',
        'image1.x',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );

  /** A value for a form field, chosen to suit its name most of the time. */
  const fieldValue = (name: string): fc.Arbitrary<BodyValue> => {
    const fit: fc.Arbitrary<BodyValue> =
      name === 'image1_url' || name === 'image2_url'
        ? imageUrl
        : name === 'image1' || name === 'image2'
          ? upload
          : name === 'face_policy'
            ? policy
            : name === 'threshold'
              ? threshold
              : fc.string({ maxLength: 20 });
    return fc.oneof(
      { weight: 6, arbitrary: fit },
      { weight: 1, arbitrary: fc.oneof(longString, fc.string({ unit: 'binary', maxLength: 30 })) },
    );
  };
  const namedField = fieldName.chain((name) => fieldValue(name).map((v): [string, BodyValue] => [name, v]));

  const urlencodedRequest: fc.Arbitrary<FuzzRequest> = fc
    .tuple(
      verifyPath,
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .array(namedField, { maxLength: 8 })
            .map((pairs): BodySpec => ({ type: 'urlencoded', pairs })),
        },
        {
          weight: 1,
          arbitrary: fc
            .string({ unit: 'binary', maxLength: 300 })
            .map((text): BodySpec => ({ type: 'raw', text })),
        },
      ),
    )
    .map(([url, body]): FuzzRequest => ({
      method: 'POST',
      url,
      headers: body.type === 'raw' ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      body,
    }));

  const part: fc.Arbitrary<PartSpec> = fc.oneof(
    // A file part: usually an image field with an upload.
    {
      weight: 3,
      arbitrary: fc.record({
        name: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('image1', 'image2') },
          { weight: 1, arbitrary: fc.option(fieldName, { nil: undefined }) },
        ),
        file: fc.record({
          filename: fc.oneof(
            fc.constantFrom('a.jpg', 'face.png', '', '../../etc/passwd', 'x".jpg'),
            fc.string({ maxLength: 20 }),
          ),
          contentType: fc.option(
            fc.constantFrom(
              'image/jpeg',
              'image/png',
              'text/plain',
              'application/octet-stream',
              'image/svg+xml',
              '',
            ),
            { nil: undefined },
          ),
        }),
        content: fc.oneof({ weight: 8, arbitrary: upload }, { weight: 1, arbitrary: fc.constant('') }),
      }),
    },
    // A field part.
    {
      weight: 3,
      arbitrary: namedField.map(([name, content]): PartSpec => ({ name, file: undefined, content })),
    },
  );

  const boundary = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('fuzzboundary', '----WebKitFormBoundary7MA4YWxkTrZu0gW') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/) },
  );

  const multipartRequest: fc.Arbitrary<FuzzRequest> = fc
    .record({
      url: verifyPath,
      multipart: fc.record({
        boundary,
        preamble: fc.oneof(
          { weight: 6, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
        ),
        parts: fc.array(part, { maxLength: 14 }),
        ending: fc.constantFrom('close', 'close', 'close', 'close', 'missing', 'cut'),
        header: fc.constantFrom('same', 'same', 'same', 'same', 'same', 'none', 'other'),
      }),
    })
    .map(({ url, multipart }): FuzzRequest => ({
      method: 'POST',
      url,
      headers: {},
      body: { type: 'multipart', multipart },
    }));

  const contentType = fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'text/plain',
      'text/html',
      'application/octet-stream',
      'image/jpeg',
      'application/xml',
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary="unterminated',
      'multipart/mixed; boundary=x',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-16',
      'application/*',
      '*/*',
      '',
      ';',
      'application/json, text/plain',
    ),
    fc.string({ maxLength: 40 }),
  );

  const contentTypeRequest: fc.Arbitrary<FuzzRequest> = fc
    .record({
      url: verifyPath,
      contentType,
      body: fc.oneof(
        verifyObject.map((value): BodySpec => ({ type: 'json', value })),
        fc.string({ unit: 'binary', maxLength: 400 }).map((text): BodySpec => ({ type: 'raw', text })),
        fc.uint8Array({ maxLength: 400 }).map((bytes): BodySpec => ({ type: 'bytes', bytes })),
        fc.constant<BodySpec>({ type: 'raw', text: '' }),
      ),
    })
    .map(({ url, contentType: ct, body }): FuzzRequest => ({
      method: 'POST',
      url,
      headers: { 'content-type': ct },
      body,
    }));

  /** Two image URLs, in any of the three encodings, to any verify endpoint. */
  const urlRequest: fc.Arbitrary<FuzzRequest> = fc
    .record({
      encoding: fc.constantFrom('json', 'urlencoded', 'multipart'),
      url: verifyPath,
      a: imageUrl,
      b: imageUrl,
      more: fc.array(fc.tuple(imageUrl, imageUrl), { maxLength: 3 }),
    })
    .map(({ encoding, url, a, b, more }): FuzzRequest => {
      if (url === '/verify/batch') {
        return {
          method: 'POST',
          url,
          headers: {},
          body: { type: 'json', value: { image_pairs: [[a, b], ...more] } },
        };
      }
      const pairs: [string, BodyValue][] = [
        ['image1_url', a],
        ['image2_url', b],
      ];
      if (encoding === 'json')
        return { method: 'POST', url, headers: {}, body: { type: 'json', value: Object.fromEntries(pairs) } };
      if (encoding === 'urlencoded')
        return { method: 'POST', url, headers: {}, body: { type: 'urlencoded', pairs } };
      return {
        method: 'POST',
        url,
        headers: {},
        body: {
          type: 'multipart',
          multipart: {
            boundary: 'fuzzboundary',
            preamble: '',
            parts: pairs.map(([name, content]) => ({ name, file: undefined, content })),
            ending: 'close',
            header: 'same',
          },
        },
      };
    });

  const KNOWN_ROUTES = [
    '/',
    '/health',
    '/metrics',
    '/metrics/cache',
    '/metrics/redis',
    '/cache/clear',
    '/verify',
    '/verify/sync',
    '/verify/batch',
    '/status/00000000-0000-0000-0000-000000000000',
    '/openapi.json',
    '/docs',
    '/docs/json',
    '/docs/static/index.html',
    '/docs/static/../../package.json',
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/%2e%2e/package.json',
    '//health',
    '/health/',
    '/HEALTH',
    '/health?x=1&x=2',
    '/verify?wait=maybe',
    '/verify?wait=true&wait=false',
    '/metrics?format=prometheus',
    '/%',
    '/%zz',
    '/%00',
    '/status/',
    '/status',
    '/verify/sync/extra',
  ];
  const routeRequest: fc.Arbitrary<FuzzRequest> = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      url: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...KNOWN_ROUTES) },
        // inject() needs a path that starts with a slash.
        { weight: 1, arbitrary: fc.webPath().map((p) => `/${p.replace(/^\//, '')}`) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.constantFrom(...KNOWN_ROUTES),
              fc.webSegment(),
              fc.option(fc.webQueryParameters(), { nil: undefined }),
            )
            .map(([route, seg, q]) => `${route.split('?')[0]}/${seg}${q !== undefined ? `?${q}` : ''}`),
        },
        {
          weight: 1,
          arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
        },
      ),
      headers: fc.record(
        {
          accept: fc.constantFrom(
            'text/plain',
            'application/openmetrics-text',
            'application/json',
            '*/*',
            'text/plain, application/json',
            'x/y',
          ),
          'x-api-key': fc.oneof(
            fc.constant('fuzz-admin'),
            fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x21-\x7e]/g, '')),
          ),
          authorization: fc.constantFrom(
            'Bearer fuzz-admin',
            'Bearer ',
            'Bearer',
            'Basic Zm9vOmJhcg==',
            'bearer fuzz-admin',
          ),
          'x-request-id': fc.constantFrom('client-chosen-id', '../../etc', ''),
          origin: fc.constantFrom('http://127.0.0.1:1', 'null', 'https://evil.example'),
        },
        { requiredKeys: [] },
      ),
      body: fc.option(
        fc.oneof(
          smallJson.map((value): BodySpec => ({ type: 'json', value })),
          fc.string({ maxLength: 100 }).map((text): BodySpec => ({ type: 'raw', text })),
        ),
        { nil: undefined },
      ),
    })
    .map((r): FuzzRequest => ({
      method: r.method,
      url: r.url,
      headers: r.headers,
      ...(r.body ? { body: r.body } : {}),
    }));

  const taskId = fc.oneof(
    { weight: 3, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 400 }).map((n) => 'a'.repeat(n)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '..',
        '.',
        '%2e%2e',
        '%2F',
        '%00',
        '%',
        '%zz',
        'null',
        'undefined',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        "1'OR'1'='1",
        'a%2Fb',
        '%E2%80%AE',
        '%C0%AF',
      ),
    },
  );
  const statusRequest: fc.Arbitrary<FuzzRequest> = fc
    .tuple(taskId, fc.option(fc.webQueryParameters(), { nil: undefined }))
    .map(([id, q]): FuzzRequest => ({
      method: 'GET',
      url: `/status/${id}${q !== undefined ? `?${q}` : ''}`,
      headers: {},
    }));

  return {
    imageUrl,
    upload,
    jsonRequest,
    urlencodedRequest,
    multipartRequest,
    contentTypeRequest,
    urlRequest,
    routeRequest,
    statusRequest,
  } satisfies HttpInputs;
}

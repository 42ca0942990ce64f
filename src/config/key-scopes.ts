/**
 * API_KEY_SCOPES: which galleries an API key may use, and for what. One entry per key, entries
 * separated by spaces or new lines:
 *
 *   KEY=galleries:staff,visitors;perms:enrol,search;name:frontdesk
 *
 * - `galleries:` names, `prefix*` patterns, or `*` (default: every gallery);
 * - `perms:` any of enrol, search, delete, read, or `*` (default: all four);
 * - `name:` how the key appears in the audit log (`key:frontdesk`) instead of its hash.
 *
 * A key is the text before the first `=` followed by one of the three words, so keys ending in `=`
 * (base64 padding) are fine. Problems are reported by entry number and name, never with the key.
 */
import { NAME_PATTERN } from '../gallery/gallery-store.js';

export const PERMISSIONS = ['enrol', 'search', 'delete', 'read'] as const;
/** enrol: add faces, change a subject; search: search and verify against a subject; delete; read: list and show. */
export type Permission = (typeof PERMISSIONS)[number];

export interface KeyScope {
  /** Gallery names, or prefixes ending in `*`; `*` alone is every gallery. */
  readonly galleries: readonly string[];
  readonly permissions: ReadonlySet<Permission>;
  /** The key's id in the audit log (`key:<name>`); none: a hash of the key. */
  readonly name?: string;
}

const ENTRY = /^(.+?)=((?:galleries|perms|name):.*)$/s;
const PREFIX = /^[A-Za-z0-9_.-]{0,63}\*$/;

/**
 * Parses the setting; throws one Error naming every problem.
 *
 * @example
 * parseKeyScopes('s3cret=galleries:staff;perms:search').get('s3cret')?.permissions.has('search') // true
 */
export function parseKeyScopes(raw: string): Map<string, KeyScope> {
  const scopes = new Map<string, KeyScope>();
  const problems: string[] = [];
  const names = new Set<string>();
  raw
    .split(/\s+/)
    .filter(Boolean)
    .forEach((entry, i) => {
      const m = ENTRY.exec(entry);
      const where = `entry ${i + 1}`;
      if (!m) {
        problems.push(`${where}: write KEY=galleries:a,b;perms:enrol,search[;name:id]`);
        return;
      }
      const key = m[1] as string;
      let galleries: string[] = ['*'];
      let permissions = new Set<Permission>(PERMISSIONS);
      let name: string | undefined;
      const seen = new Set<string>();
      for (const part of (m[2] as string).split(';').filter(Boolean)) {
        const colon = part.indexOf(':');
        const word = colon < 0 ? part : part.slice(0, colon);
        const values =
          colon < 0
            ? []
            : part
                .slice(colon + 1)
                .split(',')
                .filter(Boolean);
        if (seen.has(word)) problems.push(`${where}: "${word}" is given twice`);
        seen.add(word);
        if (word === 'galleries') {
          const bad = values.filter((g) => g !== '*' && !NAME_PATTERN.test(g) && !PREFIX.test(g));
          if (values.length === 0) problems.push(`${where}: galleries: needs at least one name or *`);
          if (bad.length) problems.push(`${where}: invalid gallery names ${bad.join(', ')}`);
          galleries = values.includes('*') ? ['*'] : values;
        } else if (word === 'perms') {
          const bad = values.filter((p) => p !== '*' && !(PERMISSIONS as readonly string[]).includes(p));
          if (values.length === 0) problems.push(`${where}: perms: needs at least one permission or *`);
          if (bad.length) {
            problems.push(
              `${where}: unknown permissions ${bad.join(', ')} (use ${PERMISSIONS.join(', ')} or *)`,
            );
          }
          permissions = values.includes('*')
            ? new Set(PERMISSIONS)
            : new Set(values.filter((p): p is Permission => (PERMISSIONS as readonly string[]).includes(p)));
        } else if (word === 'name') {
          name = values.join(',');
          if (!NAME_PATTERN.test(name)) problems.push(`${where}: name: use 1-64 of A-Z a-z 0-9 _ . -`);
          else if (names.has(name)) problems.push(`${where}: name "${name}" is used twice`);
          names.add(name);
        } else {
          problems.push(`${where}: unknown part "${word}" (use galleries:, perms:, name:)`);
        }
      }
      if (scopes.has(key)) problems.push(`${where}: the same key is scoped twice`);
      scopes.set(key, { galleries, permissions, ...(name !== undefined ? { name } : {}) });
    });
  if (problems.length) throw new Error(problems.join('; '));
  return scopes;
}

/** Whether the scope covers this gallery. */
export function coversGallery(scope: KeyScope, gallery: string): boolean {
  return scope.galleries.some((g) => (g.endsWith('*') ? gallery.startsWith(g.slice(0, -1)) : g === gallery));
}

/**
 * The problems between API_KEY_SCOPES and the key lists (a scope is for a key of API_KEYS; admin keys
 * may do everything, so they take no scope). Entries are named by number, never by key.
 */
export function keyScopeProblems(
  scopes: Map<string, KeyScope>,
  apiKeys: readonly string[],
  adminApiKeys: readonly string[],
): string[] {
  const problems: string[] = [];
  [...scopes.keys()].forEach((key, i) => {
    const label = `API_KEY_SCOPES entry ${i + 1}${scopes.get(key)?.name ? ` (${scopes.get(key)?.name})` : ''}`;
    if (adminApiKeys.includes(key))
      problems.push(`${label}: an admin key may do everything; scope another key`);
    else if (!apiKeys.includes(key)) problems.push(`${label}: the key is not one of API_KEYS`);
  });
  return problems;
}

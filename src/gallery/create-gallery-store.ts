/**
 * Chooses the gallery backend: PostgreSQL when a database URL is given, else the embedded SQLite file
 * under the data folder.
 *
 * @example
 * const store = createGalleryStore({
 *   databaseUrl: config.databaseUrl,
 *   dataDir: config.dataDir,
 *   cipher: config.templateEncryptionKey ? new TemplateCipher(parseTemplateKeys(config.templateEncryptionKey)) : undefined,
 *   retentionDays: config.galleryRetentionDays,
 *   retainCrops: config.retainFaceCrops,
 * });
 * await store.open();
 */
import type { GalleryStore } from './gallery-store.js';
import { IndexedGalleryStore } from './indexed-gallery-store.js';
import type { GalleryStoreOptions } from './indexed-gallery-store.js';
import { PostgresGalleryDatabase } from './postgres-gallery-database.js';
import type { PostgresGalleryOptions } from './postgres-gallery-database.js';
import { SqliteGalleryDatabase } from './sqlite-gallery-database.js';
import type { SqliteGalleryOptions } from './sqlite-gallery-database.js';

export interface CreateGalleryStoreOptions extends GalleryStoreOptions {
  /** postgres://…; empty or absent: the embedded backend. */
  databaseUrl?: string;
  /** Folder of the embedded database. */
  dataDir: string;
  /** PostgreSQL schema (default public). */
  schema?: string;
  postgres?: Omit<PostgresGalleryOptions, 'databaseUrl' | 'schema'>;
  sqlite?: Omit<SqliteGalleryOptions, 'dataDir'>;
}

export function createGalleryStore(options: CreateGalleryStoreOptions): GalleryStore {
  const db = options.databaseUrl
    ? new PostgresGalleryDatabase({
        ...options.postgres,
        databaseUrl: options.databaseUrl,
        ...(options.schema !== undefined && { schema: options.schema }),
        ...(options.onError && { onError: options.onError }),
      })
    : new SqliteGalleryDatabase({
        ...options.sqlite,
        dataDir: options.dataDir,
        ...(options.onError && { onError: options.onError }),
      });
  return new IndexedGalleryStore(db, options);
}

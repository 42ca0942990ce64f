/**
 * The gallery store's options from the configuration, one mapping for the service and the CLI.
 *
 * @example
 * const store = createGalleryStore(galleryStoreOptions(loadConfig()));
 */
import type { CreateGalleryStoreOptions } from '../gallery/create-gallery-store.js';
import { parseTemplateKeys, TemplateCipher } from '../gallery/template-cipher.js';
import type { Config } from './config.js';

export function galleryStoreOptions(
  config: Pick<
    Config,
    | 'databaseUrl'
    | 'dataDir'
    | 'templateEncryptionKey'
    | 'galleryRetentionDays'
    | 'auditRetentionDays'
    | 'retainFaceCrops'
  >,
): CreateGalleryStoreOptions {
  return {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    ...(config.templateEncryptionKey
      ? { cipher: new TemplateCipher(parseTemplateKeys(config.templateEncryptionKey)) }
      : {}),
    retentionDays: config.galleryRetentionDays,
    auditRetentionDays: config.auditRetentionDays,
    retainCrops: config.retainFaceCrops,
  };
}

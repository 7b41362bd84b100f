import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
// The preview server's own listing function: what its sidebar shows.
import { getEmailsDirectoryMetadata } from '../node_modules/@react-email/ui/src/utils/get-emails-directory-metadata.ts';

describe('npm run dev: the preview server', () => {
  test('its sidebar lists only the emails, not the shared components', async () => {
    const listing = await getEmailsDirectoryMetadata(resolve('emails'));
    expect(listing?.emailFilenames.sort()).toEqual(['confirm-subscription', 'edition', 'edition-sunday']);
    expect(listing?.subDirectories.map((d) => d.directoryName)).toEqual([]);
  });
});

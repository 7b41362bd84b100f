import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

interface EmailsDirectory {
  emailFilenames: string[];
  subDirectories: { directoryName: string }[];
}
// The preview server's own listing function (what its sidebar shows), loaded from its TypeScript
// source through a variable so tsc does not type-check the package's sources.
const LISTING_MODULE = '../node_modules/@react-email/ui/src/utils/get-emails-directory-metadata.ts';
const { getEmailsDirectoryMetadata } = (await import(LISTING_MODULE)) as {
  getEmailsDirectoryMetadata: (dir: string) => Promise<EmailsDirectory | undefined>;
};

describe('npm run dev: the preview server', () => {
  test('its sidebar lists only the emails, not the shared components', async () => {
    const listing = await getEmailsDirectoryMetadata(resolve('emails'));
    expect(listing?.emailFilenames.sort()).toEqual(['confirm-subscription', 'edition', 'edition-sunday']);
    expect(listing?.subDirectories.map((d) => d.directoryName)).toEqual([]);
  });
});

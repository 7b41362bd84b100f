import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers.ts';

// Tests write databases, content and outboxes to temporary directories; leave none behind.
afterAll(removeTempDirs);

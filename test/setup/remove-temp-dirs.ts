import { afterAll } from 'vitest';
import { removeTempDirs } from '../helpers/tmp.js';

/* Runs after each test file: a suite run otherwise leaves its fixtures and compiled checks in /tmp. */
afterAll(() => {
  removeTempDirs();
});

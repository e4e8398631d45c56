// Awaits a call that must be refused and returns the typed error's code.
import { AthenaError } from '../../src/errors.js';

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AthenaError) return err.code;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

import { expect } from 'vitest';
import { FaceVerifyError } from '../../src/errors.js';

/** The FaceVerifyError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function rejection(promise: Promise<unknown>): Promise<FaceVerifyError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FaceVerifyError);
  return err as FaceVerifyError;
}

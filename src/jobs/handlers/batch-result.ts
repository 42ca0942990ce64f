/**
 * A batch task's answer, defined once as a TypeBox schema: the handler's return type, the HTTP response
 * schema of `GET /status/{task_id}` and the OpenAPI document.
 */
import { Type, type Static } from 'typebox';
import type { ErrorCode } from '../../errors.js';
import { VerifyResultSchema, type VerifyResult } from '../../pipeline/verify-result.js';

export const PairOutcomeSchema = Type.Object({
  pair_index: Type.Integer({ minimum: 0 }),
  status: Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAILURE')]),
  result: Type.Optional(VerifyResultSchema),
  error: Type.Optional(Type.Object({ code: Type.String(), error: Type.String() })),
});

export const BatchResultSchema = Type.Object(
  {
    results: Type.Array(PairOutcomeSchema, { description: 'One entry per pair, in the order given' }),
    summary: Type.Object({
      total: Type.Integer(),
      succeeded: Type.Integer(),
      failed: Type.Integer(),
      matches: Type.Integer(),
    }),
    processing_time: Type.Number({ description: 'Seconds' }),
  },
  { title: 'BatchResult' },
);

type PairOutcomeData = Static<typeof PairOutcomeSchema>;
/** One pair of a batch: its result, or the error of its first failing image. */
export type PairOutcome = Omit<PairOutcomeData, 'result' | 'error'> & {
  result?: VerifyResult;
  error?: { code: ErrorCode; error: string };
};
export type BatchResult = Omit<Static<typeof BatchResultSchema>, 'results'> & { results: PairOutcome[] };

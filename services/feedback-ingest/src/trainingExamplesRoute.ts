import type { Request, Response } from 'express';
import type { Logger } from '@flywheel/runtime';
import { ModelParam, TrainingExamplesQuery } from './httpSchemas.js';
import type { TrainingExamples } from './trainingExamples.js';

/** Answer header with the number of feedback groups a limited read chose from (see TrainingExamples.available). */
export const EXAMPLES_AVAILABLE_HEADER = 'Flywheel-Examples-Available';

/**
 * GET /internal/v1/models/{model}/training-examples: the examples as JSONL, one per line, streamed
 * page by page. A failure after the first line cannot change the status any more: the connection
 * is cut instead, so the client sees a truncated chunked body (an error), never a short answer.
 */
export const trainingExamplesRoute = (examples: TrainingExamples, logger: Logger) => async (req: Request, res: Response): Promise<void> => {
  const { model } = ModelParam.parse(req.params);
  const query = TrainingExamplesQuery.parse(req.query);
  // With a limit the caller is told how much it did not get (before any row: headers go first).
  if (query.limit !== undefined) res.setHeader(EXAMPLES_AVAILABLE_HEADER, String(await examples.available(model, query)));
  const pages = examples.stream(model, query)[Symbol.asyncIterator]();
  // The first page is read before the headers go out, so an early failure is still a proper error answer.
  let next = await pages.next();
  res.status(200).type('application/x-ndjson');
  try {
    while (!next.done) {
      const chunk = next.value.map((e) => `${JSON.stringify(e)}\n`).join('');
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
      next = await pages.next();
    }
    res.end();
  } catch (err) {
    logger.error({ err, model }, 'training-examples answer failed mid-stream; connection cut so the caller retries');
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    // A write that failed leaves the stream suspended: end it, so it gives back its connection.
    await pages.return?.(undefined);
  }
};

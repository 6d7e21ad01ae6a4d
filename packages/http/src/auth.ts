import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Unauthorized } from '@flywheel/runtime';

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Admin routes: `Authorization: Bearer <token>`; 401 without credentials, 403 with wrong ones. */
export const requireBearer = (token: string) => (req: Request, _res: Response, next: NextFunction) => {
  const header = req.header('authorization');
  if (!header) return next(new Unauthorized('admin route: send Authorization: Bearer <ADMIN_TOKEN>', 401));
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m?.[1]) return next(new Unauthorized('Authorization header must be "Bearer <token>"', 401));
  if (!same(m[1], token)) return next(new Unauthorized('this token is not allowed to use admin routes', 403));
  next();
};

/** Optional API key (`X-Api-Key` or Bearer); when no key is configured every caller passes. */
export const requireApiKey = (key: string | undefined) => (req: Request, _res: Response, next: NextFunction) => {
  if (!key) return next();
  const given = req.header('x-api-key') ?? /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
  if (!given) return next(new Unauthorized('send the API key in X-Api-Key', 401));
  if (!same(given, key)) return next(new Unauthorized('this API key is not valid', 403));
  next();
};

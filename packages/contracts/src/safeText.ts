import { z } from 'zod';

// C0 control characters and DEL. PostgreSQL refuses U+0000 in text (SQLSTATE 22021), and the others
// have no business in a label, an id or a name: one such character used to stall a consumer.
// Free text keeps tab, newline and carriage return.
const NO_CONTROL = /^[^\u0000-\u001F\u007F]*$/;
const NO_CONTROL_BUT_WHITESPACE = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/;

/** A name, id, label or short string: no control characters at all. Patterns survive into the JSON Schemas. */
export const safeString = (what: string) => z.string().regex(NO_CONTROL, `${what} must not contain control characters (U+0000–U+001F, U+007F)`);

/** Free text: no control characters except tab, newline and carriage return. */
export const safeText = (what: string) =>
  z.string().regex(NO_CONTROL_BUT_WHITESPACE, `${what} must not contain control characters other than tab and newline (U+0000–U+001F, U+007F)`);

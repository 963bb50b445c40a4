import { z } from 'zod';
import { ValidationError } from './errors';

/**
 * Field builders and error rendering shared by every contract. Each builder states its limit once;
 * the contract modules export the limits as constants so HTTP schemas and CLI options use the same numbers.
 */

/** A closed range of whole numbers, with the default a producer gets when it omits the field. */
export interface WholeNumberLimit {
  min: number;
  max: number;
  default?: number;
}

/** zod's type-error message, but "is required" when the field is missing altogether. */
export const typeError = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : expected),
});

/** 1 to `max` characters, not all white space. */
export const nonBlank = (max: number) =>
  z
    .string(typeError(`must be a string of 1-${max} characters`))
    .min(1, { message: 'must not be blank' })
    .max(max, { message: `must be at most ${max} characters` })
    // Empty strings already failed min(1); saying it twice would not help.
    .refine((value) => value.length === 0 || value.trim().length > 0, { message: 'must not be blank' });

export const wholeNumber = ({ min, max }: WholeNumberLimit) =>
  z
    .number(typeError(`must be a whole number from ${min} to ${max}`))
    .int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

export const flag = () => z.boolean(typeError('must be true or false'));

export const isoDateTime = () => z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

/** Renders zod issues as `field: message; field: message`, the form users see. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : 'data';
      if (issue.code === 'unrecognized_keys') return `${field}: unknown field(s) ${issue.keys.join(', ')}`;
      if (issue.code === 'invalid_type' && issue.path.length === 0) return 'data: must be a JSON object';
      // zod's own wording for a missing nested field ("expected string, received undefined").
      if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `${field}: is required`;
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses `data` against `schema`, throwing a ValidationError that names every bad field. */
export function parseContract<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new ValidationError(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

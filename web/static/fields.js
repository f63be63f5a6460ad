// Values that come from outside the widget (a host page's message, a server
// answer): reading them safely, and checking a payload against a table of
// field descriptors. Every module that reads such values uses these; this
// module uses nothing of the widget.

// The longest callbackUri the widget hands to its server.
export const MAX_URI_LENGTH = 4096;

export const isUri = (v) => typeof v === 'string' && v !== '' && v.length <= MAX_URI_LENGTH;
export const asString = (value) => (typeof value === 'string' ? value : '');

// ownValue is table[key] when table holds key itself, else undefined. Keys
// from outside (a command's type, a request's path, an event's type) go
// through it, so names every object inherits (constructor, __proto__,
// toString...) find nothing instead of a built-in.
export const ownValue = (table, key) => (Object.hasOwn(table, key) ? table[key] : undefined);

// ---------------------------------------------------------------------------
// Field validation

const FIELD_TYPES = {
  string: { label: 'a string', check: (v) => typeof v === 'string' },
  boolean: { label: 'a boolean', check: (v) => typeof v === 'boolean' },
  number: { label: 'a number', check: (v) => Number.isFinite(v) },
  object: { label: 'an object', check: (v) => isPlainObject(v) },
  uri: { label: `a URL of at most ${MAX_URI_LENGTH} characters`, check: isUri },
  id: {
    label: 'a non-empty string or a number',
    check: (v) => (typeof v === 'string' && v !== '') || Number.isFinite(v),
  },
};

export const required = (type, values) => ({ type, optional: false, values });
export const optional = (type, values) => ({ type, optional: true, values });

export function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// validateFields checks payload against a table of field descriptors and
// returns one {field, reason} per problem; an empty list means valid.
export function validateFields(fields, payload) {
  const problems = [];
  for (const [field, { type, optional: isOptional, values }] of Object.entries(fields)) {
    const value = ownValue(payload, field);
    const { label, check } = FIELD_TYPES[type];
    if (value === undefined || value === null) {
      if (!isOptional) problems.push({ field, reason: `is required (${label})` });
    } else if (!check(value)) {
      problems.push({ field, reason: `must be ${label}` });
    } else if (values && !values.includes(value)) {
      problems.push({ field, reason: `must be one of ${values.join(', ')}` });
    }
  }
  return problems;
}

export const describeProblems = (problems) =>
  problems.map(({ field, reason }) => `${field} ${reason}`).join('; ');

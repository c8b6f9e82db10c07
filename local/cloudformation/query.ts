/**
 * The AWS Query protocol as CloudFormation speaks it: form-encoded requests (`Action=…&Version=…`, lists as
 * `Name.member.N`) and XML responses (`<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>`,
 * lists as `<member>` elements, timestamps in ISO 8601), errors as `<ErrorResponse>`.
 */

/** Values a Query response renders: nested objects, lists (as `<member>`), dates, strings, numbers, booleans. */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | readonly XmlValue[]
  | { readonly [name: string]: XmlValue };

/** The parameters of a Query request (form-encoded body or query string). */
export function parseQuery(text: string): URLSearchParams {
  return new URLSearchParams(text);
}

/** A list parameter (`Name.member.1`, `Name.member.2`, …), in index order. */
export function queryList(params: URLSearchParams, name: string): string[] {
  const prefix = `${name}.member.`;
  return [...params.entries()]
    .filter(([key]) => key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length)))
    .sort(([a], [b]) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map(([, value]) => value);
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"'\r]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' })[c] ?? c,
  );
}

/** One value's XML content: members of an object as elements, list items as `<member>` elements. */
export function toXml(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => element('member', item)).join('');
  if (typeof value === 'object')
    return Object.entries(value as Record<string, XmlValue>)
      .map(([name, item]) => element(name, item))
      .join('');
  return escapeXml(String(value));
}

function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  const content = toXml(value);
  return content ? `<${name}>${content}</${name}>` : `<${name}/>`;
}

/** A successful Query response document. */
export function queryResponse(
  namespace: string,
  action: string,
  result: XmlValue,
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${namespace}">` +
    element(`${action}Result`, result ?? {}) +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

/** A Query error document: `Sender` for the caller's mistakes, `Receiver` for the service's. */
export function queryError(
  namespace: string,
  error: { code: string; message: string; type?: 'Sender' | 'Receiver' },
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${namespace}">` +
    element('Error', { Type: error.type ?? 'Sender', Code: error.code, Message: error.message }) +
    `<RequestId>${escapeXml(requestId)}</RequestId>` +
    `</ErrorResponse>`
  );
}

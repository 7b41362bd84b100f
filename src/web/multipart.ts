/** The boundary parameter of a multipart/form-data content type. */
export function multipartBoundary(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/**
 * Reads the text fields of a multipart/form-data body (RFC 7578). File parts are ignored; a malformed body yields
 * the fields read so far.
 */
export function parseMultipart(body: Buffer, boundary: string): [string, string][] {
  const fields: [string, string][] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    const headersEnd = body.indexOf('\r\n\r\n', pos);
    if (headersEnd === -1) break;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd + 4);
    if (next === -1) break;
    const headers = body.subarray(pos, headersEnd).toString('utf8');
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    const isFile = /;\s*filename=/i.test(disposition);
    if (name !== undefined && !isFile) fields.push([name, body.subarray(headersEnd + 4, next).toString('utf8')]);
    pos = next + 2;
  }
  return fields;
}

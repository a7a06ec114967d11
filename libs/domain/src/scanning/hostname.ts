// Host names as RFC 1123 describes them, compared in one canonical form so "WWW.Example.com." and
// "www.example.com" are one target and one scope entry.

export type HostnameParse = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly message: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function normalizeHostname(text: string): HostnameParse {
  let name = text.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return { ok: false, message: 'empty host name' };
  if (name.length > 253) return { ok: false, message: `host name is ${name.length} characters; the limit is 253` };
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return { ok: false, message: `${text} has an empty label` };
    if (label.length > 63) return { ok: false, message: `label "${label.slice(0, 20)}…" is longer than 63 characters` };
    if (!LABEL.test(label)) {
      return {
        ok: false,
        message: `label "${label}" must be letters, digits and inner hyphens (use punycode "xn--" for international names)`,
      };
    }
  }
  // An all-numeric last label would make "1.2.3.999" a host name instead of a bad address.
  if (/^[0-9]+$/.test(labels[labels.length - 1])) {
    return { ok: false, message: `${text} is neither an IP address nor a host name (numeric top-level label)` };
  }
  return { ok: true, name };
}

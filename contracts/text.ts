import * as z from 'zod/mini';

/**
 * Free text from a partner system (names, addresses, descriptions, notes, who decided and why): what Handoff
 * accepts, normalises and refuses, decided once for every ingress.
 *
 * Accepted, and kept exactly (after NFC): any script, emoji (zero-width joiner sequences included), combining
 * marks, the directional *marks* (LRM U+200E, RLM U+200F, ALM U+061C) right-to-left addresses need, and the
 * zero-width (non-)joiners some scripts spell with.
 *
 * Normalised: every text is stored in Unicode Normalization Form C, so `Mu\u0308ller` (NFD, as macOS and some
 * ERPs export it) and `Müller` are the same name, the same payload hash and the same length limit.
 *
 * Refused, each with its own rule:
 * - `wellFormedUnicode`: a lone surrogate (`\ud800` in JSON) has no character; UTF-8 cannot carry it, so every
 *   store and queue after the edge would silently turn it into U+FFFD.
 * - `noControlCharacters`: C0 and C1 controls and DEL (NUL, BEL, ESC, CR, LF, tab, …) break single-line fields,
 *   X12 and CSV exports, terminals and label printers.
 * - `noBidiControls`: the embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) reorder what
 *   an operator reads ("Trojan Source"): an address or a reason could say one thing and show another.
 * - `noNoncharacters`: U+FFFE and U+FFFF are guaranteed not to be characters, and SQS refuses a message body
 *   with them, so an order carrying one could never reach a dead-letter queue.
 */

export interface TextFinding {
  readonly rule: 'wellFormedUnicode' | 'noControlCharacters' | 'noBidiControls' | 'noNoncharacters';
  readonly message: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/;
const NONCHARACTER = /[\uFFFE\uFFFF]/;

/** `U+202E at 12`: which code unit, and where (0-based, in UTF-16 code units as JavaScript counts). */
function where(value: string, pattern: RegExp): string {
  const match = pattern.exec(value);
  if (!match) return '';
  const unit = match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return `U+${unit} at ${match.index}`;
}

/** Every text rule `value` breaks (none for acceptable text). */
export function textFindings(value: string): TextFinding[] {
  const findings: TextFinding[] = [];
  if (LONE_SURROGATE.test(value)) {
    findings.push({
      rule: 'wellFormedUnicode',
      message: `must be well-formed Unicode (a lone surrogate, ${where(value, LONE_SURROGATE)}, has no character)`,
    });
  }
  if (CONTROL.test(value)) {
    findings.push({
      rule: 'noControlCharacters',
      message: `must not contain control characters (${where(value, CONTROL)})`,
    });
  }
  if (BIDI_CONTROL.test(value)) {
    findings.push({
      rule: 'noBidiControls',
      message: `must not contain bidirectional embedding, override or isolate controls (${where(value, BIDI_CONTROL)})`,
    });
  }
  if (NONCHARACTER.test(value)) {
    findings.push({
      rule: 'noNoncharacters',
      message: `must not contain Unicode noncharacters (${where(value, NONCHARACTER)})`,
    });
  }
  return findings;
}

/** The text rules as a zod check: one issue per broken rule, with its rule name for the violation. */
export const textRules = z.superRefine<string>((value, ctx) => {
  for (const finding of textFindings(value)) {
    ctx.addIssue({ code: 'custom', message: finding.message, params: { rule: finding.rule }, input: value });
  }
});

/**
 * Single-line free text: normalised to NFC, then `min`..`max` characters (UTF-16 code units, as JSON Schema
 * and JavaScript count them), then the text rules above.
 */
export function safeText(max: number, min = 1) {
  return z.string().check(z.normalize('NFC'), z.minLength(min), z.maxLength(max), textRules);
}

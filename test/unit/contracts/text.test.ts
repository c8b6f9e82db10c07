import { describe, expect, it } from 'vitest';
import { safeText, textFindings } from '../../../contracts/text.ts';
import { parseWith } from '../../../contracts/validation.ts';

/** Free text at every ingress: what is accepted (and read back exactly), normalised, or refused by rule. */
const parse = (value: unknown, max = 120) => parseWith('text', safeText(max), value);

describe('safeText: accepted, exactly as sent (after NFC)', () => {
  it.each([
    ['emoji', 'Dock 🚚 📦'],
    ['a zero-width-joiner family', '👩‍👩‍👧 Receiving'],
    ['a flag (regional indicators)', 'Berlin 🇩🇪'],
    ['Hebrew with a right-to-left mark', 'רחוב הרצל 12\u200F'],
    ['Arabic with an Arabic letter mark', 'شارع\u061C الملك 5'],
    ['Persian with a zero-width non-joiner', 'می\u200Cخواهم'],
    ['CJK', '東京都千代田区'],
    ['a no-break space', 'Suite\u00A0400'],
  ])('%s', (_what, value) => {
    expect(parse(value)).toEqual({ ok: true, value });
  });
});

describe('safeText: normalised to NFC', () => {
  it('composes a decomposed name, so NFD and NFC are the same text', () => {
    const nfd = 'Mu\u0308ller Ko\u0308ln';
    expect(parse(nfd)).toEqual({ ok: true, value: 'M\u00fcller K\u00f6ln' });
    expect(parse('M\u00fcller K\u00f6ln')).toEqual({ ok: true, value: 'M\u00fcller K\u00f6ln' });
  });

  it('counts the length after composing', () => {
    expect(parse('Mu\u0308ll', 4).ok).toBe(true);
    expect(parse('Mu\u0308lle', 4).ok).toBe(false);
  });
});

describe('safeText: refused, each with its rule', () => {
  it.each([
    ['NUL', 'Dock\u0000A', 'noControlCharacters', 'U+0000 at 4'],
    ['a line feed', 'Line 1\nLine 2', 'noControlCharacters', 'U+000A'],
    ['a tab', 'A\tB', 'noControlCharacters', 'U+0009'],
    ['DEL', 'A\u007FB', 'noControlCharacters', 'U+007F'],
    ['a C1 control', 'A\u0085B', 'noControlCharacters', 'U+0085'],
    ['a lone high surrogate', 'A\ud800B', 'wellFormedUnicode', 'U+D800 at 1'],
    ['a lone low surrogate', 'A\udc00B', 'wellFormedUnicode', 'U+DC00'],
    ['a right-to-left override', 'invoice \u202Efdp.exe', 'noBidiControls', 'U+202E'],
    ['a left-to-right embedding', 'A\u202AB', 'noBidiControls', 'U+202A'],
    ['a first-strong isolate', 'A\u2068B', 'noBidiControls', 'U+2068'],
    ['U+FFFF', 'A\uffffB', 'noNoncharacters', 'U+FFFF'],
    ['U+FFFE', 'A\ufffeB', 'noNoncharacters', 'U+FFFE'],
  ])('%s', (_what, value, rule, where) => {
    const parsed = parse(value);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.violations).toEqual([{ path: '', rule, message: expect.stringContaining(where) }]);
  });

  it('reports every rule a text breaks, and its length too', () => {
    const parsed = parse('\u0000\u202E\ud800\uffff'.repeat(2), 4);
    expect(parsed.ok ? [] : parsed.error.violations.map((v) => v.rule)).toEqual([
      'maxLength:4',
      'wellFormedUnicode',
      'noControlCharacters',
      'noBidiControls',
      'noNoncharacters',
    ]);
  });

  it('an emoji is a pair, never a lone surrogate', () => {
    expect(textFindings('😀😀')).toEqual([]);
    expect(textFindings('😀'.slice(0, 1))).toEqual([expect.objectContaining({ rule: 'wellFormedUnicode' })]);
  });
});

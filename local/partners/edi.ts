import {
  EventFeed,
  json,
  type PartnerEnvironment,
  problem,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
} from './framework.ts';

export const X12_MEDIA_TYPE = 'application/edi-x12';

export interface X12TransactionSet {
  readonly code: string;
  readonly controlNumber: string;
}

export interface X12Envelope {
  readonly sender: string;
  readonly receiver: string;
  readonly interchangeControlNumber: string;
  readonly functionalId: string;
  readonly transactionSets: readonly X12TransactionSet[];
}

export interface OutboundEdiDocument extends X12Envelope {
  readonly acceptanceId: string;
  readonly receivedAt: string;
  readonly text: string;
}

/** A document a trading partner dropped into the inbound mailbox (typically an 850 purchase order). */
export interface InboundEdiDocument {
  readonly documentId: string;
  readonly receivedAt: string;
  readonly contentType: typeof X12_MEDIA_TYPE;
  /** From ISA06 when the envelope can be read, else null (the ingress adapter quarantines it). */
  readonly sender: string | null;
  readonly transactionSet: string | null;
  readonly text: string;
}

/**
 * Reads an X12 interchange the way a gateway does before accepting it: separators from the fixed-width
 * ISA, then every envelope pair checked (ISA/IEA, GS/GE, ST/SE control numbers and segment counts).
 */
export function readX12Envelope(
  text: string,
): { ok: true; value: X12Envelope } | { ok: false; errors: string[] } {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('ISA') || trimmed.length < 106) {
    return { ok: false, errors: ['interchange must start with a 106-character ISA segment'] };
  }
  const element = trimmed.charAt(3);
  const terminator = trimmed.charAt(105);
  const segments = trimmed
    .split(terminator)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => s.split(element));
  const errors: string[] = [];
  const isa = segments[0] ?? [];
  const iea = segments.at(-1) ?? [];
  const control = (isa[13] ?? '').trim();
  if (iea[0] !== 'IEA') errors.push('interchange does not end with IEA');
  else if ((iea[2] ?? '').trim() !== control) errors.push(`IEA02 ${iea[2]} does not match ISA13 ${control}`);
  const gs = segments.find((s) => s[0] === 'GS');
  const ge = segments.find((s) => s[0] === 'GE');
  if (!gs || !ge) errors.push('functional group GS/GE missing');
  else if (gs[6] !== ge[2]) errors.push(`GE02 ${ge[2]} does not match GS06 ${gs[6]}`);

  const sets: X12TransactionSet[] = [];
  let open: { code: string; controlNumber: string; start: number } | undefined;
  segments.forEach((segment, index) => {
    if (segment[0] === 'ST') {
      open = { code: segment[1] ?? '', controlNumber: segment[2] ?? '', start: index };
    } else if (segment[0] === 'SE') {
      if (!open) {
        errors.push(`SE at segment ${index + 1} without ST`);
        return;
      }
      const counted = index - open.start + 1;
      if (Number(segment[1]) !== counted) {
        errors.push(`SE01 says ${segment[1]} segments, transaction set ${open.controlNumber} has ${counted}`);
      }
      if (segment[2] !== open.controlNumber) {
        errors.push(`SE02 ${segment[2]} does not match ST02 ${open.controlNumber}`);
      }
      sets.push({ code: open.code, controlNumber: open.controlNumber });
      open = undefined;
    }
  });
  if (open) errors.push(`transaction set ${open.controlNumber} has no SE`);
  if (sets.length === 0) errors.push('interchange holds no transaction set');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      sender: (isa[6] ?? '').trim(),
      receiver: (isa[8] ?? '').trim(),
      interchangeControlNumber: control,
      functionalId: gs?.[1] ?? '',
      transactionSets: sets,
    },
  };
}

/** Builds a valid one-set X12 4010 interchange (for tests and the simulator's trading partners). */
export function x12Interchange(options: {
  readonly sender: string;
  readonly receiver: string;
  readonly controlNumber: number;
  readonly functionalId: string;
  readonly transactionSet: string;
  /** Segments between ST and SE, each as its elements. */
  readonly body: readonly (readonly string[])[];
  readonly at: Date;
}): string {
  const iso = options.at.toISOString();
  const yymmdd = iso.slice(2, 10).replaceAll('-', '');
  const hhmm = iso.slice(11, 16).replace(':', '');
  const icn = String(options.controlNumber).padStart(9, '0');
  const st = String(options.controlNumber % 10_000).padStart(4, '0');
  const isa = [
    'ISA',
    '00',
    ' '.repeat(10),
    '00',
    ' '.repeat(10),
    'ZZ',
    options.sender.padEnd(15),
    'ZZ',
    options.receiver.padEnd(15),
    yymmdd,
    hhmm,
    'U',
    '00401',
    icn,
    '0',
    'P',
    '>',
  ];
  const segments = [
    isa,
    [
      'GS',
      options.functionalId,
      options.sender,
      options.receiver,
      `20${yymmdd}`,
      hhmm,
      String(options.controlNumber),
      'X',
      '004010',
    ],
    ['ST', options.transactionSet, st],
    ...options.body,
    ['SE', String(options.body.length + 2), st],
    ['GE', '1', String(options.controlNumber)],
    ['IEA', '1', icn],
  ];
  return `${segments.map((s) => s.join('*')).join('~\n')}~\n`;
}

/**
 * The EDI gateway (VAN/AS2 side): outbound X12 documents posted as `application/edi-x12` text, checked and
 * acknowledged with an acceptance id; and an inbound mailbox that tests and the simulator fill with
 * partners' documents (850s) and the local cloud empties with `drainInbound()`.
 */
export class EdiSandbox implements SandboxPartner {
  readonly name = 'edi' as const;
  readonly outbound: OutboundEdiDocument[] = [];
  /** The inbound mailbox; set `inbound.knobs` for duplicated, late or out-of-order pickup. */
  readonly inbound: EventFeed<InboundEdiDocument>;
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {
    this.inbound = new EventFeed('edi.inbound', env);
  }

  readonly routes: readonly Route[] = [
    {
      method: 'POST',
      pattern: '/edi/outbound',
      idempotent: true,
      handle: ({ contentType, rawBody }) => {
        if (contentType !== X12_MEDIA_TYPE) {
          refuse(415, 'unsupported_media_type', `outbound documents must be sent as ${X12_MEDIA_TYPE}`);
        }
        const envelope = readX12Envelope(rawBody);
        if (!envelope.ok) {
          refuse(400, 'invalid_x12', `interchange rejected: ${envelope.errors.join('; ')}`, {
            errors: envelope.errors,
          });
        }
        const document: OutboundEdiDocument = {
          ...envelope.value,
          acceptanceId: this.ids.next('EDI-ACC-'),
          receivedAt: this.env.clock.now().toISOString(),
          text: rawBody,
        };
        this.outbound.push(document);
        const { text: _, ...acceptance } = document;
        return json(202, { ...acceptance, status: 'ACCEPTED' });
      },
    },
    {
      method: 'GET',
      pattern: '/edi/outbound',
      handle: ({ query }) => {
        const set = query.get('transactionSet');
        return json(200, {
          documents: set
            ? this.outbound.filter((d) => d.transactionSets.some((s) => s.code === set))
            : this.outbound,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/edi/outbound/:acceptanceId',
      handle: ({ params }) => {
        const document = this.outbound.find((d) => d.acceptanceId === params.acceptanceId);
        return document
          ? { status: 200, text: document.text, headers: { 'content-type': X12_MEDIA_TYPE } }
          : problem(404, 'not_found', `no document ${params.acceptanceId}`);
      },
    },
  ];

  /** A trading partner's document arrives in the mailbox (deliverable from `at`, default now). */
  putInbound(text: string, at?: Date): InboundEdiDocument {
    const envelope = readX12Envelope(text);
    const document: InboundEdiDocument = {
      documentId: this.ids.next('EDI-IN-'),
      receivedAt: (at ?? this.env.clock.now()).toISOString(),
      contentType: X12_MEDIA_TYPE,
      sender: envelope.ok ? envelope.value.sender : null,
      transactionSet: envelope.ok ? (envelope.value.transactionSets[0]?.code ?? null) : null,
      text,
    };
    this.inbound.emit(document, at, text);
    return document;
  }

  /** Mailbox documents due now on the sandbox clock, with the mailbox's knobs applied. */
  drainInbound(): InboundEdiDocument[] {
    return this.inbound.drain();
  }

  reset(): void {
    this.outbound.length = 0;
    this.inbound.clear();
    this.ids.reset();
  }
}

export * from './events.ts';
export * from './order.ts';
export * from './validation.ts';
export * from './vocabulary.ts';

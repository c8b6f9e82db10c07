import { type BusinessCalendar, parseSlaPolicy } from '../core/sla.ts';
import { ConfigurationError } from './errors.ts';

/**
 * The SLA policy's working hours from BUSINESS_CALENDAR (JSON, validated, completed with the default's
 * fields), for functions that time people's work in them; undefined when unset (the default calendar).
 */
export function businessCalendarFromEnv(): BusinessCalendar | undefined {
  const raw = process.env.BUSINESS_CALENDAR;
  if (!raw) return undefined;
  try {
    return parseSlaPolicy({ businessCalendar: JSON.parse(raw) }).businessCalendar;
  } catch (error) {
    throw new ConfigurationError(`BUSINESS_CALENDAR: ${(error as Error).message}`);
  }
}

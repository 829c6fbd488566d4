/**
 * Scheduled rules: `rate(N unit)` fires on the clock; `cron(...)` is accepted and not run.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
import type { Clock, ClockTimer } from './clock';
import { validation } from './errors';

const RATE_UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** Milliseconds between runs of `rate(N unit)`; null for a valid `cron(...)`, which is not run. */
export function scheduleInterval(expression: string, busName: string): number | null {
  if (busName !== 'default') throw validation('ScheduleExpression is supported only on the default event bus.');
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] ?? '';
    // "rate(1 minute)" is singular, "rate(5 minutes)" plural, as EventBridge requires.
    if (n > 0 && Number.isSafeInteger(n * (RATE_UNITS[unit] ?? 0)) && (n === 1) === !unit.endsWith('s')) return n * (RATE_UNITS[unit] ?? 0);
  } else if (/^cron\((\S+ ){5}\S+\)$/.test(expression)) {
    return null;
  }
  throw validation('Parameter ScheduleExpression is not valid.');
}

/** One timer chain per scheduled rule, by rule ARN. */
export class Schedules {
  private readonly timers = new Map<string, ClockTimer>();

  constructor(private readonly clock: Clock) {}

  /** Fires `fire` every `everyMs` from now on, replacing the rule's previous schedule. */
  set(ruleArn: string, everyMs: number, fire: () => void): void {
    this.unset(ruleArn);
    const arm = () => {
      this.timers.set(
        ruleArn,
        this.clock.setTimeout(() => {
          arm();
          fire();
        }, everyMs),
      );
    };
    arm();
  }

  unset(ruleArn: string): void {
    this.clock.clearTimeout(this.timers.get(ruleArn));
    this.timers.delete(ruleArn);
  }

  close(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
  }
}

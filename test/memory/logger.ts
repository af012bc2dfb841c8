/** A logger that keeps every line in memory, so tests can check what a host logged. */
import type { Logger } from '../../runtime/contract/define.js';

/** One logged line, with the fields of every parent logger merged in. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export class MemoryLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bound: object = {},
  ) {}

  debug(fields: object, message: string): void {
    this.log('debug', fields, message);
  }

  info(fields: object, message: string): void {
    this.log('info', fields, message);
  }

  warn(fields: object, message: string): void {
    this.log('warn', fields, message);
  }

  error(fields: object, message: string): void {
    this.log('error', fields, message);
  }

  /** Returns a logger that adds `fields` to its lines and writes to the same list. */
  child(fields: object): Logger {
    return new MemoryLogger(this.lines, { ...this.bound, ...fields });
  }

  /** Returns the lines logged at `level`. */
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((line) => line.level === level);
  }

  private log(level: LogLine['level'], fields: object, message: string): void {
    this.lines.push({ level, fields: { ...this.bound, ...fields }, message });
  }
}

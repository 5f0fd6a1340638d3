/**
 * `--log-format pretty`: pino's JSON lines rewritten for a person at a terminal —
 * `10:04:55.123 INFO  backend down serverGroupId=sgp-… server=127.0.3.71:80 to=Unhealthy` —
 * local time, the level in words, the message, then the remaining fields as key=value.
 * JSON stays the default: it is what log collectors parse.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function value(v: unknown): string {
  if (v !== null && typeof v === 'object') {
    // Errors arrive serialized as {type, message, stack}: the message is what a person needs.
    const message = (v as { message?: unknown }).message;
    return typeof message === 'string' ? JSON.stringify(message) : JSON.stringify(v);
  }
  const text = String(v);
  return /^[^\s"=]*$/.test(text) && text !== '' ? text : JSON.stringify(text);
}

/** One JSON log line as one human line (the input returned unchanged if it is not JSON). */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const fields = Object.entries(entry)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const time = typeof entry.time === 'number' ? clock(entry.time) : '';
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

/** A pino destination writing pretty lines to `out` (stdout by default). */
export function prettyStream(out: { write(text: string): unknown } = process.stdout): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(prettyLine(line));
    },
  };
}

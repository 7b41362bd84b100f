/** CPU time of a process or one of its threads, read from /proc. Imported by the compiled sender child too. */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process (or one of its threads) has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number, thread?: number): number | undefined {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the stat line (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The share of one core a process used between two readings of processCpuSeconds over `wallMs`; undefined if either is. */
export function cpuShare(before: number | undefined, after: number | undefined, wallMs: number): number | undefined {
  return before !== undefined && after !== undefined ? (after - before) / (wallMs / 1000) : undefined;
}

import { readFileSync } from 'node:fs';

/** What the benchmark reads of its child processes (stack/processes.ts starts them): memory and CPU from /proc. */

export interface ProcMemory {
  rssBytes: number;
  /** Peak resident set size (VmHWM): the high-water mark since the process started. */
  peakRssBytes: number;
}

/** Reads VmRSS/VmHWM from /proc/<pid>/status (Linux). */
export function readProcMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks: 100/s on Linux). */
export function readProcCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

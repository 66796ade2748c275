import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Whether `taskset` can pin processes to CPUs here. */
export const HAS_TASKSET = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/** Whether `perf stat` can count instructions here (some kernels and sandboxes cannot). */
export const PERF_STATUS: { supported: boolean; detail: string } = (() => {
  const r = spawnSync('perf', ['stat', '-e', 'instructions', '-x,', 'true'], { encoding: 'utf8' });
  if (r.error) return { supported: false, detail: 'perf is not installed (Debian package linux-perf)' };
  const out = `${r.stdout}${r.stderr}`.trim();
  const line = out.split('\n').find((l) => l.includes('instructions')) ?? out;
  const count = Number(line.split(',')[0]);
  return { supported: r.status === 0 && Number.isFinite(count) && count > 0, detail: line };
})();

/** Runs a command on one CPU when taskset exists. */
export function pinned(cpu: number, command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  return HAS_TASKSET
    ? spawn('taskset', ['-c', String(cpu), command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The user and the system (kernel) CPU seconds a process has used, from /proc/<pid>/stat. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** Resident set size in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Collects a child's stdout and resolves when it exits. */
export function collect(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ stdout, stderr, code })));
}

/** `perf stat -e instructions` on a running process for `seconds`; undefined when unsupported. */
export async function perfInstructions(pid: number, seconds: number): Promise<number | undefined> {
  if (!PERF_STATUS.supported) return undefined;
  const child = spawn('perf', ['stat', '-e', 'instructions', '-x,', '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const { stderr } = await collect(child);
  const line = stderr.split('\n').find((l) => l.includes('instructions'));
  const n = line ? Number(line.split(',')[0]) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

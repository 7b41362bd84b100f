/**
 * The bench's child processes: the discarding SMTP sink (scripts/bench/smtp-sink.ts), so it does not
 * share the sender's event loop, and the sender (scripts/bench-sender.ts, compiled as the CLI
 * ships), so its peak RSS is its own.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SenderInput, SenderReport } from '../bench-sender.ts';
import { ensureBuild } from '../build.mjs';
import { ROOT, SINK_SCRIPT } from './paths.ts';

/** What the sink received, printed by it on SIGTERM. */
export interface SinkCounts {
  messages: number;
  recipients: number;
  bytes: number;
}

/** A running sink process. */
export interface SinkProcess {
  port: number;
  pid: number;
  /** Sends SIGTERM; resolves with what the sink received once it has exited. */
  stop: () => Promise<SinkCounts>;
}

/** Collects a child's stdout as lines; `nextLine(i)` resolves with line `i`, or rejects if the child exits first. */
function lineReader(child: ReturnType<typeof spawn>, exited: Promise<number | null>, what: string): (index: number) => Promise<string> {
  const lines: string[] = [];
  let buffer = '';
  let onLine: (() => void) | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      onLine?.();
    }
  });
  return (index) =>
    new Promise<string>((resolveLine, reject) => {
      const check = () => {
        if (lines.length > index) {
          onLine = undefined;
          resolveLine(lines[index]!);
        }
      };
      onLine = check;
      check();
      void exited.then((code) => reject(new Error(`${what} exited (code ${code}) before printing line ${index + 1}`)));
    });
}

/** Starts scripts/bench/smtp-sink.ts as its own process on loopback; `stop()` sends SIGTERM and resolves with its counts. */
export async function startSinkProcess(): Promise<SinkProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SINK_SCRIPT], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const nextLine = lineReader(child, exited, 'the SMTP sink');
  const { port } = JSON.parse(await nextLine(0)) as { port: number };
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      const counts = nextLine(1);
      child.kill('SIGTERM');
      const parsed = JSON.parse(await counts) as SinkCounts;
      await exited;
      return parsed;
    },
  };
}

/** Runs the sender child in a fresh Node process (the compiled `bench-sender`, built first if a source changed) and returns its report. */
export async function runSenderProcess(input: SenderInput): Promise<SenderReport> {
  const built = join(await ensureBuild(), 'bench-sender.js');
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), built, JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`the sender process failed (exit ${code}):\n${stderr}${stdout}`);
  return JSON.parse(last) as SenderReport;
}

/** Runs the sender child and checks that it sent to all `subscribers` and finished; `what` names the send in the error. */
export async function runCompleteSend(input: SenderInput, subscribers: number, what: string): Promise<SenderReport> {
  const report = await runSenderProcess(input);
  if (report.sent !== subscribers || !report.complete) throw new Error(`${what} did not complete: ${JSON.stringify(report)}`);
  return report;
}

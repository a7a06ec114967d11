import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createApi, type Api } from '../api/index.js';
import { configDir } from '../config/paths.js';
import { ProfileStore, type ProjectRef } from '../config/profiles.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { CliError, usageError } from '../errors.js';
import { Printer, type Stream } from '../output/printer.js';
import { colorWanted, makeTheme } from '../output/theme.js';

/** The process's streams and environment, passed in so tests and the UI can substitute them. */
export interface Io {
  readonly stdout: Stream & NodeJS.WritableStream;
  readonly stderr: Stream & NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  readonly profile?: string;
  readonly color?: boolean;
  readonly json?: boolean;
  readonly project?: string;
  readonly yes?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const looksLikeId = (s: string) => UUID.test(s);

/** Everything a command needs, built lazily: `profile list` must work with no server configured. */
export class Ctx {
  readonly printer: Printer;
  readonly store: ProfileStore;
  private cachedSettings?: Settings;
  private cachedApi?: Api;

  constructor(
    readonly io: Io,
    readonly opts: GlobalOptions,
  ) {
    this.printer = new Printer(io.stdout, io.stderr, makeTheme(colorWanted(io.stdout, io.env, opts.color)), makeTheme(colorWanted(io.stderr, io.env, opts.color)));
    this.printer.machine = opts.json === true;
    this.store = new ProfileStore(configDir(io.env));
  }

  get json(): boolean {
    return this.opts.json === true;
  }

  settings(): Settings {
    this.cachedSettings ??= resolveSettings({ store: this.store, env: this.io.env, profile: this.opts.profile });
    return this.cachedSettings;
  }

  api(): Api {
    const s = this.settings();
    this.cachedApi ??= createApi({ ledgerUrl: s.ledgerUrl, taskerUrl: s.taskerUrl, token: s.token, timeoutMs: s.timeoutMs });
    return this.cachedApi;
  }

  /**
   * The project a command acts on: --project, then FALCLI_PROJECT, then the profile's current
   * project. A name is looked up among the projects the caller can see; an id is used as given
   * and the server answers 404 for one that does not exist.
   */
  async project(): Promise<ProjectRef> {
    const ref = this.opts.project ?? this.io.env.FALCLI_PROJECT ?? this.settings().currentProject?.id;
    if (!ref) throw usageError('no project given', 'pass --project <id|name>, or choose one: falcli project use <id|name>');
    return this.findProject(ref);
  }

  async findProject(ref: string): Promise<ProjectRef> {
    if (looksLikeId(ref)) {
      const current = this.settings().currentProject;
      return { id: ref, name: current?.id === ref ? current.name : ref };
    }
    const { items } = await this.api().ledger.listProjects();
    const hit = items.find((p) => p.name === ref);
    if (!hit) throw new CliError('notFound', `no project named '${ref}' is visible to you`, 'see yours with: falcli project list');
    return { id: hit.id, name: hit.name };
  }

  /** Destructive actions ask on a terminal; in scripts they need --yes rather than hanging on a prompt. */
  async confirm(question: string): Promise<boolean> {
    if (this.opts.yes) return true;
    if (!this.io.stdin.isTTY) throw usageError(`${question.replace(/\?$/, '')}: refusing without --yes when stdin is not a terminal`);
    const rl = createInterface({ input: this.io.stdin, output: this.io.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  }

  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of this.io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
    return Buffer.concat(chunks).toString('utf8');
  }
}

/**
 * Wraps a command handler: builds the context from the command's options (globals included) and
 * hands over the positional arguments. Errors travel up to main, which maps them to exit codes.
 */
export function action<A extends unknown[]>(io: Io, fn: (ctx: Ctx, opts: Record<string, any>, ...args: A) => Promise<void> | void) {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Record<string, any>;
    const positional = all.slice(0, cmd.registeredArguments.length) as A;
    await fn(new Ctx(io, opts), opts, ...positional);
  };
}

import { Command } from 'commander';
import { createApi } from '../api/index.js';
import { checkProfileName, checkUrl, PROFILE_FIELDS, type Profile } from '../config/profiles.js';
import { resolveSettings } from '../config/settings.js';
import { CliError, usageError } from '../errors.js';
import { dash } from '../output/format.js';
import { action, type Ctx, type Io } from './context.js';
import { examples, jsonOption } from './shared.js';

const DEFAULT_LEDGER = 'http://127.0.0.1:8081';
const DEFAULT_TASKER = 'http://127.0.0.1:8080';

/** Shows enough of a token to tell two apart, never enough to use it. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '****' : `${token.slice(0, 8)}…${token.slice(-4)}`;
}

async function tokenFrom(ctx: Ctx, value: string | undefined, fromStdin: boolean, name: string): Promise<string | undefined> {
  if (fromStdin) {
    const t = (await ctx.readStdin()).trim();
    if (!t) throw usageError('--token-stdin given but stdin was empty');
    return t;
  }
  if (value) ctx.printer.warn(`a token given as an argument stays in your shell history; next time use: falcli profile set ${name} token --stdin`);
  return value;
}

export function profileCommand(io: Io): Command {
  const cmd = new Command('profile').description('server profiles: ledger and tasker URLs, a token, the current project');
  examples(cmd, 'falcli profile create local --token-stdin < token.txt', 'falcli profile use local', 'falcli profile validate');

  examples(
    cmd
      .command('create')
      .description('create a profile (the first one becomes active)')
      .argument('<name>', 'profile name')
      .argument('[ledgerUrl]', `ledger API URL (default ${DEFAULT_LEDGER})`)
      .argument('[taskerUrl]', `tasker API URL (default ${DEFAULT_TASKER})`)
      .argument('[token]', 'API token (prefer --token-stdin: arguments end up in shell history)')
      .option('--ledger-url <url>', 'ledger API URL')
      .option('--tasker-url <url>', 'tasker API URL')
      .option('--token-stdin', 'read the token from stdin')
      .option('--use', 'make it the active profile')
      .option('--force', 'overwrite an existing profile')
      .action(
        action(io, async (ctx, opts, name: string, ledgerArg?: string, taskerArg?: string, tokenArg?: string) => {
          checkProfileName(name);
          if (ctx.store.exists(name) && !opts.force) throw usageError(`profile '${name}' already exists`, `change it with 'falcli profile set ${name} <field> <value>', or pass --force`);
          const profile: Profile = {
            ledgerUrl: checkUrl(opts.ledgerUrl ?? ledgerArg ?? DEFAULT_LEDGER, 'ledger URL'),
            taskerUrl: checkUrl(opts.taskerUrl ?? taskerArg ?? DEFAULT_TASKER, 'tasker URL'),
            currentProject: null,
          };
          const token = await tokenFrom(ctx, tokenArg, opts.tokenStdin === true, name);
          const first = ctx.store.names().length === 0;
          ctx.store.write(name, profile);
          if (token) ctx.store.writeToken(name, token);
          ctx.printer.success(`Profile '${name}' created.`);
          if (!token) ctx.printer.warn(`no token stored yet: falcli profile set ${name} token --stdin < token.txt`);
          if (first || opts.use) {
            ctx.store.setActive(name);
            ctx.printer.success(`Active profile set to '${name}'.`);
          }
        }),
      ),
    'falcli profile create local --token-stdin < token.txt',
    'falcli profile create prod https://ledger.example.com https://tasker.example.com --token-stdin --use',
  );

  examples(
    cmd
      .command('list')
      .description('list profiles; * marks the active one')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const active = ctx.store.activeName();
          const rows = ctx.store.names().map((name) => {
            let profile: Profile | null = null;
            try {
              profile = ctx.store.read(name);
            } catch {
              /* listed as broken below */
            }
            return { name, active: name === active, ledgerUrl: profile?.ledgerUrl ?? null, taskerUrl: profile?.taskerUrl ?? null, currentProject: profile?.currentProject ?? null };
          });
          if (ctx.json) return ctx.printer.json(rows);
          if (!rows.length) return ctx.printer.warn('No profiles yet: falcli profile create <name> --token-stdin < token.txt');
          ctx.printer.table(rows, [
            { header: ' ', value: (r) => (r.active ? '*' : ' ') },
            { header: 'name', value: (r) => r.name },
            { header: 'ledger_url', value: (r) => dash(r.ledgerUrl ?? 'unreadable profile file') },
            { header: 'tasker_url', value: (r) => dash(r.taskerUrl) },
            { header: 'project', value: (r) => (r.currentProject ? `${r.currentProject.name} (${r.currentProject.id})` : '-') },
          ]);
        }),
      ),
    'falcli profile list',
    'falcli profile list --json',
  );

  examples(
    cmd
      .command('show')
      .description('show a profile (default: the active one); the token is masked')
      .argument('[name]', 'profile name')
      .option('--show-token', 'print the token in clear')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, nameArg?: string) => {
          const name = nameArg ?? ctx.opts.profile ?? ctx.store.activeName();
          const profile = ctx.store.read(name);
          let token: string;
          try {
            const t = ctx.store.readToken(name);
            token = t ? (opts.showToken ? t : maskToken(t)) : '-';
          } catch (e) {
            if (!(e instanceof CliError)) throw e;
            token = `refused: ${e.message}`;
          }
          const view = { name, active: name === ctx.store.activeName(), ...profile, token, tokenFile: ctx.store.tokenPath(name) };
          if (ctx.json) return ctx.printer.json(view);
          ctx.printer.line(`Profile: ${name}${view.active ? ' (active)' : ''}`);
          ctx.printer.kv([
            ['ledgerUrl', profile.ledgerUrl],
            ['taskerUrl', profile.taskerUrl],
            ['token', token],
            ['tokenFile', view.tokenFile],
            ['currentProject', profile.currentProject ? `${profile.currentProject.name} (${profile.currentProject.id})` : '-'],
          ]);
        }),
      ),
    'falcli profile show',
    'falcli profile show prod --json',
  );

  examples(
    cmd
      .command('delete')
      .description('delete a profile and its token file')
      .argument('<name>', 'profile name')
      .action(
        action(io, async (ctx, _opts, name: string) => {
          if (!ctx.store.exists(name)) throw new CliError('notFound', `profile '${name}' does not exist`, 'see the profiles with: falcli profile list');
          const wasActive = ctx.store.activeName() === name;
          ctx.store.remove(name);
          ctx.printer.success(`Profile '${name}' deleted.`);
          if (wasActive) ctx.printer.success(`Active profile reset to 'default'.`);
        }),
      ),
    'falcli profile delete old-lab',
  );

  examples(
    cmd
      .command('set')
      .description(`set one field of a profile: ${PROFILE_FIELDS.join(', ')}`)
      .argument('<name>', 'profile name')
      .argument('<field>', PROFILE_FIELDS.join(' | '))
      .argument('[value]', 'new value (for token prefer --stdin)')
      .option('--stdin', 'read the value from stdin')
      .action(
        action(io, async (ctx, opts, name: string, field: string, value?: string) => {
          if (!(PROFILE_FIELDS as readonly string[]).includes(field)) throw usageError(`invalid field '${field}'; allowed fields: ${PROFILE_FIELDS.join(', ')}`);
          const v = opts.stdin ? (await ctx.readStdin()).trim() : value;
          if (!v) throw usageError(`no value given for ${field}`, `falcli profile set ${name} ${field} <value>${field === 'token' ? '  (or --stdin)' : ''}`);
          const profile = ctx.store.read(name);
          if (field === 'token') {
            if (!opts.stdin) ctx.printer.warn(`a token given as an argument stays in your shell history; next time use --stdin`);
            ctx.store.writeToken(name, v);
          } else {
            ctx.store.write(name, { ...profile, [field]: checkUrl(v, field) });
          }
          ctx.printer.success(`Field '${field}' updated in profile '${name}'.`);
        }),
      ),
    'falcli profile set local ledgerUrl http://127.0.0.1:8081',
    'falcli profile set local token --stdin < token.txt',
  );

  examples(
    cmd
      .command('use')
      .alias('set-active-profile')
      .description('make a profile the active one')
      .argument('<name>', 'profile name')
      .action(
        action(io, async (ctx, _opts, name: string) => {
          if (!ctx.store.exists(name)) throw new CliError('notFound', `profile '${name}' does not exist`, 'see the profiles with: falcli profile list');
          ctx.store.setActive(name);
          ctx.printer.success(`Active profile set to '${name}'.`);
        }),
      ),
    'falcli profile use prod',
  );

  examples(
    cmd
      .command('validate')
      .description('check that a profile reaches its ledger and its token is accepted (whoami)')
      .argument('[name]', 'profile name (default: the active one)')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, _opts, nameArg?: string) => {
          const s = resolveSettings({ store: ctx.store, env: ctx.io.env, profile: nameArg ?? ctx.opts.profile });
          const api = createApi({ ledgerUrl: s.ledgerUrl, taskerUrl: s.taskerUrl, token: s.token, timeoutMs: s.timeoutMs });
          const me = await api.ledger.whoami();
          if (ctx.json) return ctx.printer.json({ profile: s.profileName, ledgerUrl: s.ledgerUrl, ...me });
          ctx.printer.success(`Profile '${s.profileName}' is valid: ${s.ledgerUrl} accepts the token.`);
          ctx.printer.kv([
            ['user', me.username],
            ['kind', me.kind],
            ['admin', me.admin ? 'yes' : 'no'],
            ['tokenId', me.tokenId],
          ]);
        }),
      ),
    'falcli profile validate',
    'falcli profile validate prod --json',
  );

  return cmd;
}

import { Command, Option } from 'commander';
import { PRINCIPAL_KINDS } from '#events';
import type { User } from '../api/index.js';
import { CliError } from '../errors.js';
import { utc } from '../output/format.js';
import { action, looksLikeId, type Ctx, type Io } from './context.js';
import { examples, isoTime, jsonOption, lifetime, yesOption } from './shared.js';

/** Routes take user ids; people type usernames. */
export async function findUser(ctx: Ctx, ref: string): Promise<User> {
  if (looksLikeId(ref)) return ctx.api().ledger.getUser(ref);
  const { items } = await ctx.api().ledger.listUsers();
  const hit = items.find((u) => u.username === ref);
  if (!hit) throw new CliError('notFound', `no user named '${ref}'`, 'see the users with: falcli users list');
  return hit;
}

/** The token goes alone on stdout (easy to capture); the warning that it will not be shown again on stderr. */
export function revealToken(ctx: Ctx, token: string): void {
  ctx.printer.warn('The token is shown once and cannot be recovered; store it now.');
  ctx.printer.line(token);
}

export function tokenOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--lifetime <span>', 'token lifetime: seconds or 90m, 12h, 30d, 52w').argParser(lifetime).conflicts('expiresAt'))
    .addOption(new Option('--expires-at <time>', 'absolute expiry, e.g. 2027-01-01T00:00:00Z').argParser(isoTime));
}

export function usersCommand(io: Io): Command {
  const cmd = new Command('users').alias('user').description('people, services and workers that hold tokens (admins)');
  examples(cmd, 'falcli users create alice', 'falcli users list', 'falcli users disable alice');

  examples(
    tokenOptions(
      cmd
        .command('create')
        .description('create a user and print its first token once')
        .argument('<username>', 'a-z 0-9 . _ -')
        .addOption(new Option('--kind <kind>', 'principal kind').choices(PRINCIPAL_KINDS).default('user'))
        .option('--admin', 'grant admin rights')
        .option('--label <label>', 'label for the first token'),
    )
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, username: string) => {
          const u = await ctx.api().ledger.createUser({ username, kind: opts.kind, admin: opts.admin === true, label: opts.label, lifetimeSeconds: opts.lifetime, expiresAt: opts.expiresAt });
          if (ctx.json) return ctx.printer.json(u);
          ctx.printer.success(`User '${u.username}' created (${u.id}, ${u.kind}${u.admin ? ', admin' : ''}).`);
          revealToken(ctx, u.token);
        }),
      ),
    'falcli users create alice --lifetime 90d',
    'falcli users create scanner-eu --kind worker',
    'falcli users create ci --kind service --json | jq -r .token',
  );

  examples(
    cmd
      .command('list')
      .description('list users')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const { items } = await ctx.api().ledger.listUsers();
          if (ctx.json) return ctx.printer.json(items);
          const theme = ctx.printer.theme;
          ctx.printer.table(items, [
            { header: 'username', value: (u) => u.username },
            { header: 'id', value: (u) => u.id },
            { header: 'kind', value: (u) => u.kind },
            { header: 'admin', value: (u) => (u.admin ? 'yes' : 'no') },
            { header: 'status', value: (u) => (u.status === 'active' ? theme.ok(u.status) : theme.warn(u.status)) },
            { header: 'created', value: (u) => utc(u.createdAt) },
          ]);
        }),
      ),
    'falcli users list',
  );

  const toggle = (name: string, disabled: boolean) =>
    examples(
      cmd
        .command(name)
        .description(disabled ? 'disable a user: its tokens stop working until enabled' : 'enable a disabled user')
        .argument('<user>', 'username or user id')
        .addOption(jsonOption())
        .action(
          action(io, async (ctx, _opts, ref: string) => {
            const u = await findUser(ctx, ref);
            const after = await ctx.api().ledger.updateUser(u.id, { disabled });
            if (ctx.json) return ctx.printer.json(after);
            ctx.printer.success(`User '${after.username}' ${disabled ? 'disabled' : 'enabled'}.`);
          }),
        ),
      `falcli users ${name} alice`,
    );
  toggle('disable', true);
  toggle('enable', false);

  examples(
    cmd
      .command('delete')
      .description('delete a user and revoke all its tokens')
      .argument('<user>', 'username or user id')
      .addOption(yesOption())
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          const u = await findUser(ctx, ref);
          if (!(await ctx.confirm(`Delete user '${u.username}' (${u.id}) and revoke its tokens?`))) return ctx.printer.warn('Aborted.');
          await ctx.api().ledger.deleteUser(u.id);
          ctx.printer.success(`User '${u.username}' deleted.`);
        }),
      ),
    'falcli users delete alice --yes',
  );
  return cmd;
}

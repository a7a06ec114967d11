import { Command } from 'commander';
import type { WhoAmI } from '../api/index.js';
import { usageError } from '../errors.js';
import { dash, utc } from '../output/format.js';
import { action, type Ctx, type Io } from './context.js';
import { examples, jsonOption, lifetime, yesOption } from './shared.js';
import { findUser, revealToken, tokenOptions } from './users.js';

const userOption = (cmd: Command) => cmd.option('-u, --user <user>', 'whose tokens (username or id; admins only for others; default: you)');

async function owner(ctx: Ctx, ref: string | undefined): Promise<{ userId: string; me: WhoAmI }> {
  const me = await ctx.api().ledger.whoami();
  if (!ref || ref === 'me' || ref === me.username || ref === me.id) return { userId: me.id, me };
  return { userId: (await findUser(ctx, ref)).id, me };
}

/** The profile's own token can be replaced in place; a token from FALCLI_TOKEN cannot. */
function canSave(ctx: Ctx): boolean {
  return !ctx.io.env.FALCLI_TOKEN && ctx.settings().profile !== null;
}

export function tokenCommand(io: Io): Command {
  const cmd = new Command('token').alias('tokens').description('API tokens: list, issue, rotate, revoke');
  examples(cmd, 'falcli token list', 'falcli token rotate', 'falcli token issue --label laptop --lifetime 30d');

  examples(
    userOption(cmd.command('list').description('list unrevoked tokens; * marks the one in use'))
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const { userId, me } = await owner(ctx, opts.user);
          const { items } = await ctx.api().ledger.listTokens(userId);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn('No tokens.');
          ctx.printer.table(items, [
            { header: ' ', value: (t) => (t.tokenId === me.tokenId ? '*' : ' ') },
            { header: 'token_id', value: (t) => t.tokenId },
            { header: 'label', value: (t) => dash(t.label) },
            { header: 'issued', value: (t) => utc(t.issuedAt) },
            { header: 'expires', value: (t) => (t.expiresAt ? utc(t.expiresAt) : 'never') },
          ]);
        }),
      ),
    'falcli token list',
    'falcli token list --user alice --json',
  );

  examples(
    userOption(tokenOptions(cmd.command('issue').description('issue a new token and print it once').option('--label <label>', 'label, e.g. the machine it is for')))
      .option('--save', 'store it as the token of the active profile')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const { userId, me } = await owner(ctx, opts.user);
          if (opts.save && userId !== me.id) throw usageError("--save stores your own token in your profile; it cannot store another user's");
          if (opts.save && !canSave(ctx)) throw usageError('--save needs a profile whose token is not overridden by FALCLI_TOKEN');
          const t = await ctx.api().ledger.issueToken(userId, { label: opts.label, lifetimeSeconds: opts.lifetime, expiresAt: opts.expiresAt });
          if (opts.save) ctx.store.writeToken(ctx.settings().profileName, t.token);
          if (ctx.json) return ctx.printer.json(t);
          ctx.printer.success(`Token ${t.tokenId} issued.`);
          if (opts.save) ctx.printer.success(`Saved as the token of profile '${ctx.settings().profileName}'.`);
          else revealToken(ctx, t.token);
        }),
      ),
    'falcli token issue --label laptop --lifetime 30d',
    'falcli token issue --user scanner-eu --label eu-1',
  );

  examples(
    userOption(
      cmd
        .command('rotate')
        .description('replace a token by a new one (the old one stops working); default: the token in use, saved to the profile')
        .argument('[tokenId]', 'token to rotate (default: the one this profile uses)'),
    )
      .option('--lifetime <span>', 'lifetime of the new token: seconds or 90m, 12h, 30d', lifetime)
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, tokenArg?: string) => {
          const { userId, me } = await owner(ctx, opts.user);
          const tokenId = tokenArg ?? me.tokenId;
          if (!tokenArg && userId !== me.id) throw usageError('name the token to rotate when rotating another user’s token', 'falcli token list --user <user>');
          const own = tokenId === me.tokenId;
          const t = await ctx.api().ledger.rotateToken(userId, tokenId, { lifetimeSeconds: opts.lifetime });
          // Rotating the token this profile runs on would lock the profile out: save its successor.
          const saved = own && canSave(ctx);
          if (saved) ctx.store.writeToken(ctx.settings().profileName, t.token);
          if (ctx.json) return ctx.printer.json(saved ? { ...t, token: undefined, savedToProfile: ctx.settings().profileName } : t);
          ctx.printer.success(`Token ${tokenId} rotated; the new token is ${t.tokenId}.`);
          if (saved) ctx.printer.success(`Saved to profile '${ctx.settings().profileName}'.`);
          else revealToken(ctx, t.token);
        }),
      ),
    'falcli token rotate',
    'falcli token rotate 3f1c… --user alice',
  );

  examples(
    userOption(cmd.command('revoke').description('revoke a token; it stops working at once').argument('<tokenId>', 'token id'))
      .addOption(yesOption())
      .action(
        action(io, async (ctx, opts, tokenId: string) => {
          const { userId, me } = await owner(ctx, opts.user);
          if (tokenId === me.tokenId && !(await ctx.confirm('This is the token this profile uses; revoking it signs you out. Continue?'))) return ctx.printer.warn('Aborted.');
          await ctx.api().ledger.revokeToken(userId, tokenId);
          ctx.printer.success(`Token ${tokenId} revoked.`);
        }),
      ),
    'falcli token revoke 3f1c2a9e-…',
    'falcli token revoke 3f1c2a9e-… --user alice',
  );
  return cmd;
}

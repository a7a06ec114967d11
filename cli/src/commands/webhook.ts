import { Command } from 'commander';
import type { Webhook } from '../api/index.js';
import { CliError, usageError } from '../errors.js';
import { dash, utc } from '../output/format.js';
import { action, type Ctx, type Io } from './context.js';
import { examples, jsonOption, list, positiveInt, projectOption, yesOption } from './shared.js';

/** A webhook by its id, a unique id prefix (as `list` shows them) or its URL. */
export async function findWebhook(ctx: Ctx, projectId: string, ref: string): Promise<Webhook> {
  const { items } = await ctx.api().ledger.listWebhooks(projectId);
  const exact = items.find((w) => w.id === ref || w.url === ref);
  if (exact) return exact;
  const byPrefix = ref.length >= 4 ? items.filter((w) => w.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw usageError(`'${ref}' matches ${byPrefix.length} webhooks; give more of the id`);
  throw new CliError('notFound', `no webhook '${ref}' in this project`, 'see them with: falcli webhook list');
}

export function webhookLastDelivery(w: Webhook): string {
  const d = w.lastDelivery;
  if (!d) return '-';
  return `${utc(d.at)} ${d.ok ? `ok ${d.httpStatus}` : dash(d.error)}`;
}

export function webhookCommand(io: Io): Command {
  const cmd = new Command('webhook')
    .alias('webhooks')
    .description('webhooks: the project’s ledger changes POSTed, signed, to your URL (owners manage; members list)');
  examples(cmd, 'falcli webhook add https://hooks.example.com/falcoria', 'falcli webhook list', 'falcli webhook deliveries 3f2a');

  examples(
    cmd
      .command('add')
      .description('register a webhook and print its signing secret once (generated unless --secret-stdin)')
      .argument('<url>', 'http(s) URL that receives the POSTs')
      .option('--events <fields>', 'only these change fields, comma-separated (host, state, hostname, service.name, service.product, service.version, service.extrainfo, service.tunnel, cpes, script)', list)
      .option('--secret-stdin', 'read the signing secret from stdin instead of having one generated')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, url: string) => {
          const p = await ctx.project();
          let secret: string | undefined;
          if (opts.secretStdin) {
            secret = (await ctx.readStdin()).trim();
            if (!secret) throw usageError('--secret-stdin given but stdin was empty');
          }
          const w = await ctx.api().ledger.createWebhook(p.id, { url, ...(secret ? { secret } : {}), ...(opts.events ? { events: opts.events } : {}) });
          if (ctx.json) return ctx.printer.json(w);
          ctx.printer.success(`Webhook ${w.id} added to '${p.name}': ${w.url}${w.events ? ` (${w.events.join(', ')})` : ''}.`);
          if (!secret) {
            // The secret on a line of its own (easy to capture); the warning on stderr.
            ctx.printer.warn('The signing secret is shown once and cannot be recovered; store it now.');
            ctx.printer.line(w.secret);
          }
        }),
      ),
    'falcli webhook add https://hooks.example.com/falcoria',
    'falcli webhook add https://siem.example.net/in --events state,host --json | jq -r .secret',
    'pass show falcoria/hook | falcli webhook add https://hooks.example.com/x --secret-stdin',
  );

  examples(
    cmd
      .command('list')
      .description('list the project’s webhooks: status, consecutive failures, last delivery')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          const { items } = await ctx.api().ledger.listWebhooks(p.id);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No webhooks in project '${p.name}'.`);
          const theme = ctx.printer.theme;
          ctx.printer.table(items, [
            { header: 'id', value: (w) => w.id.slice(0, 8) },
            { header: 'url', value: (w) => w.url },
            { header: 'events', value: (w) => (w.events ? w.events.join(',') : 'all') },
            { header: 'status', value: (w) => (w.status === 'active' ? theme.ok(w.status) : theme.error(w.status)) },
            { header: 'failures', value: (w) => String(w.consecutiveFailures) },
            { header: 'last delivery (utc)', value: (w) => webhookLastDelivery(w) },
            { header: 'next retry (utc)', value: (w) => utc(w.pending?.nextRetryAt) },
          ]);
          for (const w of items.filter((x) => x.status === 'disabled'))
            ctx.printer.note(`${w.id.slice(0, 8)} disabled: ${dash(w.disabledReason)} — fix the receiver, then: falcli webhook enable ${w.id.slice(0, 8)}`);
        }),
      ),
    'falcli webhook list',
    'falcli webhook list --json | jq ".[] | select(.status == \\"disabled\\")"',
  );

  examples(
    cmd
      .command('rm')
      .alias('remove')
      .description('remove a webhook (its secret and delivery log go with it)')
      .argument('<webhook>', 'webhook id, unique id prefix, or URL')
      .addOption(projectOption())
      .addOption(yesOption())
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          const p = await ctx.project();
          const w = await findWebhook(ctx, p.id, ref);
          if (!(await ctx.confirm(`Remove webhook ${w.id} (${w.url})?`))) return ctx.printer.warn('Aborted.');
          await ctx.api().ledger.deleteWebhook(p.id, w.id);
          ctx.printer.success(`Webhook ${w.id} removed.`);
        }),
      ),
    'falcli webhook rm 3f2a --yes',
  );

  examples(
    cmd
      .command('enable')
      .description('re-enable a disabled webhook; delivery resumes where it stopped, nothing is lost')
      .argument('<webhook>', 'webhook id, unique id prefix, or URL')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          const p = await ctx.project();
          const w = await findWebhook(ctx, p.id, ref);
          const after = await ctx.api().ledger.enableWebhook(p.id, w.id);
          if (ctx.json) return ctx.printer.json(after);
          ctx.printer.success(w.status === 'disabled' ? `Webhook ${w.id} enabled; delivery resumes from change ${dash(after.cursor)}.` : `Webhook ${w.id} was active; its pending delivery is retried now.`);
        }),
      ),
    'falcli webhook enable 3f2a',
  );

  examples(
    cmd
      .command('deliveries')
      .description('the delivery log of a webhook, newest attempt first')
      .argument('<webhook>', 'webhook id, unique id prefix, or URL')
      .option('--limit <n>', 'attempts to show (max 1000)', positiveInt, 20)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, ref: string) => {
          const p = await ctx.project();
          const w = await findWebhook(ctx, p.id, ref);
          const { items } = await ctx.api().ledger.webhookDeliveries(p.id, w.id, opts.limit);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No deliveries yet for ${w.url}.`);
          const theme = ctx.printer.theme;
          const span = (ids: string[]) => (ids.length === 0 ? '-' : ids.length === 1 ? ids[0] : `${ids[0]}…${ids[ids.length - 1]} (${ids.length})`);
          ctx.printer.table(items, [
            { header: 'attempted (utc)', value: (d) => utc(d.attemptedAt) },
            { header: 'delivery', value: (d) => d.deliveryId.slice(0, 8) },
            { header: 'attempt', value: (d) => String(d.attempt) },
            { header: 'changes', value: (d) => span(d.changeIds) },
            { header: 'result', value: (d) => (d.outcome === 'delivered' ? theme.ok(`${d.httpStatus}`) : theme.error(dash(d.error))) },
            { header: 'ms', value: (d) => String(d.durationMs) },
            { header: 'next retry (utc)', value: (d) => utc(d.nextRetryAt) },
          ]);
        }),
      ),
    'falcli webhook deliveries 3f2a',
    'falcli webhook deliveries https://hooks.example.com/falcoria --limit 100 --json',
  );
  return cmd;
}

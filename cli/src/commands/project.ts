import { Argument, Command, Option } from 'commander';
import { PROJECT_ROLES, type ProjectRole } from '#events';
import type { Member, Project } from '../api/index.js';
import type { RateBudget, ScanPolicyView, ScanWindow } from '../api/tasker.js';
import { usageError } from '../errors.js';
import { dash, utc } from '../output/format.js';
import { action, type Ctx, type Io } from './context.js';
import { ipsCommand } from './ips.js';
import { examples, jsonOption, list, projectOption, yesOption } from './shared.js';

const members = (p: Project) => (p.members.length ? p.members.map((m) => `${m.username ?? m.userId}(${m.role})`).join(', ') : '-');

export function printProject(ctx: Ctx, p: Project): void {
  ctx.printer.kv([
    ['name', p.name],
    ['id', p.id],
    ['comment', dash(p.comment)],
    ['members', members(p)],
    ['scope allow', dash(p.scope.allow)],
    ['scope deny', dash(p.scope.deny)],
    ['created', utc(p.createdAt)],
    ['updated', utc(p.updatedAt)],
  ]);
}

function setCurrent(ctx: Ctx, p: { id: string; name: string }): boolean {
  const s = ctx.settings();
  if (!s.profile) return false;
  ctx.store.write(s.profileName, { ...s.profile, currentProject: { id: p.id, name: p.name } });
  return true;
}

const roleOption = () => new Option('--role <role>', 'role in the project').choices(PROJECT_ROLES).default('member');

export function projectCommand(io: Io): Command {
  const cmd = new Command('project').description('projects, their members and scope, and their hosts (ips)');
  examples(cmd, 'falcli project create acme-external', 'falcli project list', 'falcli project use acme-external');

  examples(
    cmd
      .command('create')
      .description('create a project (you become its owner); the first one becomes the current project')
      .argument('<name>', 'project name: letters, digits, _ and -')
      .option('--comment <text>', 'free text')
      .option('--use', 'make it the current project of the profile')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, name: string) => {
          const p = await ctx.api().ledger.createProject({ name, comment: opts.comment });
          const current = ctx.settings().currentProject;
          const saved = (opts.use || !current) && setCurrent(ctx, p);
          if (ctx.json) return ctx.printer.json(p);
          ctx.printer.success(`Project '${p.name}' created (${p.id}).`);
          printProject(ctx, p);
          if (saved) ctx.printer.note(`Current project of profile '${ctx.settings().profileName}' is now '${p.name}'.`);
          else if (current) ctx.printer.note(`Current project stays '${current.name}'; switch with: falcli project use ${p.name}`);
        }),
      ),
    'falcli project create acme-external --comment "Q4 perimeter"',
    'falcli project create lab --use --json',
  );

  examples(
    cmd
      .command('list')
      .description('list the projects you can see (admins see all); * marks the current one')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const { items } = await ctx.api().ledger.listProjects();
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn('No projects found.');
          const current = ctx.settings().currentProject?.id;
          ctx.printer.table(items, [
            { header: ' ', value: (p) => (p.id === current ? '*' : ' ') },
            { header: 'project_name', value: (p) => p.name },
            { header: 'id', value: (p) => p.id },
            { header: 'users', value: members },
            { header: 'created', value: (p) => utc(p.createdAt) },
          ]);
        }),
      ),
    'falcli project list',
    "falcli project list --json | jq -r '.[].id'",
  );

  examples(
    cmd
      .command('get')
      .description('show a project (default: the current one)')
      .argument('[project]', 'project id or name')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, _opts, ref?: string) => {
          const { id } = ref ? await ctx.findProject(ref) : await ctx.project();
          const p = await ctx.api().ledger.getProject(id);
          if (ctx.json) return ctx.printer.json(p);
          printProject(ctx, p);
        }),
      ),
    'falcli project get',
    'falcli project get acme-external --json',
  );

  examples(
    cmd
      .command('update')
      .description('rename a project or change its comment (owners)')
      .argument('<project>', 'project id or name')
      .option('--name <name>', 'new name')
      .option('--comment <text>', 'new comment')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, ref: string) => {
          if (opts.name === undefined && opts.comment === undefined) throw usageError('nothing to change', 'pass --name and/or --comment');
          const { id } = await ctx.findProject(ref);
          const p = await ctx.api().ledger.updateProject(id, { name: opts.name, comment: opts.comment });
          const current = ctx.settings().currentProject;
          if (current?.id === p.id && current.name !== p.name) setCurrent(ctx, p);
          if (ctx.json) return ctx.printer.json(p);
          ctx.printer.success(`Project '${p.name}' (${p.id}) updated.`);
        }),
      ),
    'falcli project update acme-external --name acme-ext --comment "renamed"',
  );

  examples(
    cmd
      .command('delete')
      .description('delete a project and everything in it (owners)')
      .argument('<project>', 'project id or name')
      .addOption(yesOption())
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          const p = await ctx.findProject(ref);
          if (!(await ctx.confirm(`Delete project '${p.name}' (${p.id}) and all its hosts and history?`))) return ctx.printer.warn('Aborted.');
          await ctx.api().ledger.deleteProject(p.id);
          if (ctx.settings().currentProject?.id === p.id) {
            const s = ctx.settings();
            ctx.store.write(s.profileName, { ...s.profile!, currentProject: null });
          }
          ctx.printer.success(`Project '${p.name}' (${p.id}) deleted.`);
        }),
      ),
    'falcli project delete old-lab --yes',
  );

  examples(
    cmd
      .command('use')
      .alias('set-active')
      .description('make a project the current one of the active profile')
      .argument('<project>', 'project id or name')
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          const found = await ctx.findProject(ref);
          // Checked on the server, so a typo or someone else's project never becomes "current".
          const p = await ctx.api().ledger.getProject(found.id);
          if (!setCurrent(ctx, p)) throw usageError('no profile to store the current project in', 'create one first: falcli profile create <name> --token-stdin');
          ctx.printer.success(`Current project set to '${p.name}' (${p.id}) in profile '${ctx.settings().profileName}'.`);
        }),
      ),
    'falcli project use acme-external',
    'falcli project use 26e73c7f-c1e3-4131-8ee5-99a01681af9f',
  );

  cmd.addCommand(membersCommand(io));
  cmd.addCommand(scopeCommand(io));
  cmd.addCommand(policyCommand(io));
  cmd.addCommand(ipsCommand(io));
  return cmd;
}

function printMembers(ctx: Ctx, items: Member[]): void {
  if (ctx.json) return ctx.printer.json(items);
  ctx.printer.table(items, [
    { header: 'username', value: (m) => dash(m.username) },
    { header: 'user_id', value: (m) => m.userId },
    { header: 'role', value: (m) => m.role },
  ]);
}

function membersCommand(io: Io): Command {
  const cmd = new Command('members').description('who can see and change a project');
  examples(cmd, 'falcli project members list', 'falcli project members add alice --role viewer');

  examples(
    cmd
      .command('list')
      .description('list members and their roles')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          printMembers(ctx, (await ctx.api().ledger.listMembers(p.id)).items);
        }),
      ),
    'falcli project members list -p acme-external',
  );

  const setRole = async (ctx: Ctx, user: string, role: ProjectRole, verb: string) => {
    const p = await ctx.project();
    const { items } = await ctx.api().ledger.setMember(p.id, user, role);
    if (ctx.json) return ctx.printer.json(items);
    ctx.printer.success(`${verb} '${user}' as ${role} in project '${p.name}'.`);
  };

  examples(
    cmd
      .command('add')
      .description('add a user to the project (owners)')
      .argument('<user>', 'username or user id')
      .addOption(roleOption())
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(action(io, (ctx, opts, user: string) => setRole(ctx, user, opts.role, 'Added'))),
    'falcli project members add alice --role viewer',
  );

  examples(
    cmd
      .command('set-role')
      .description("change a member's role (owners)")
      .argument('<user>', 'username or user id')
      .addArgument(new Argument('<role>', PROJECT_ROLES.join(' | ')).choices(PROJECT_ROLES))
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(action(io, (ctx, _opts, user: string, role: ProjectRole) => setRole(ctx, user, role, 'Set'))),
    'falcli project members set-role alice owner',
  );

  examples(
    cmd
      .command('remove')
      .description('remove a user from the project (owners)')
      .argument('<user>', 'username or user id')
      .addOption(projectOption())
      .action(
        action(io, async (ctx, _opts, user: string) => {
          const p = await ctx.project();
          await ctx.api().ledger.removeMember(p.id, user);
          ctx.printer.success(`Removed '${user}' from project '${p.name}'.`);
        }),
      ),
    'falcli project members remove alice',
  );
  return cmd;
}

function scopeCommand(io: Io): Command {
  const cmd = new Command('scope').description('what the project may scan: allow and deny lists of CIDRs and hostnames');
  examples(cmd, 'falcli project scope show', 'falcli project scope set --allow 10.0.0.0/16 --deny 10.0.0.1');

  examples(
    cmd
      .command('show')
      .description('show the allow and deny lists')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          const { scope } = await ctx.api().ledger.getProject(p.id);
          if (ctx.json) return ctx.printer.json(scope);
          ctx.printer.kv([
            ['allow', dash(scope.allow)],
            ['deny', dash(scope.deny)],
          ]);
        }),
      ),
    'falcli project scope show --json',
  );

  examples(
    cmd
      .command('set')
      .description('replace the allow and deny lists (owners); an empty allow list allows everything not denied')
      .option('--allow <entries>', 'comma-separated CIDRs, addresses or hostnames (repeatable)', list, [])
      .option('--deny <entries>', 'comma-separated CIDRs, addresses or hostnames (repeatable)', list, [])
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const scope = await ctx.api().ledger.setScope(p.id, { allow: opts.allow, deny: opts.deny });
          if (ctx.json) return ctx.printer.json(scope);
          ctx.printer.success(`Scope of project '${p.name}' set: allow ${dash(scope.allow)}; deny ${dash(scope.deny)}.`);
        }),
      ),
    'falcli project scope set --allow 10.0.0.0/16,example.com --deny 10.0.0.1',
  );
  return cmd;
}

/** "10.0.0.0/16:2:300" → {cidr, maxHosts, maxPps}; the tasker checks the rest (a bad CIDR answers 400 naming it). */
export function parseBudget(v: string): RateBudget {
  const m = /^(\S+\/\d{1,3}):(\d+)(?::(\d+))?$/.exec(v.trim());
  if (!m) throw usageError(`--budget ${v}: expected CIDR:maxHosts[:maxPps]`, 'falcli project policy set --budget 10.0.0.0/16:2:300');
  return { cidr: m[1], maxHosts: Number(m[2]), ...(m[3] !== undefined ? { maxPps: Number(m[3]) } : {}) };
}

/** "22:00-06:00" → start and end. */
export function parseWindow(v: string, timeZone: string): ScanWindow {
  const m = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(v.trim());
  if (!m) throw usageError(`--window ${v}: expected HH:MM-HH:MM`, 'falcli project policy set --window 22:00-06:00 --tz Europe/Berlin');
  return { start: m[1], end: m[2], timeZone };
}

function printPolicy(ctx: Ctx, v: ScanPolicyView): void {
  const w = v.policy.window;
  ctx.printer.kv([
    ['window', w ? `${w.start}-${w.end} ${w.timeZone} (${v.window?.insideNow ? 'open' : 'closed'} now; ${v.window?.insideNow ? 'closes' : 'opens'} ${dash(v.window?.nextChangeAt)})` : 'any time'],
    ['set by', v.setBy ? `${v.setBy.name ?? v.setBy.id} at ${v.setAt}` : '-'],
    ['waiting', v.dispatch.held ? `${v.dispatch.held} task(s): ${dash(v.dispatch.waiting)}` : 'nothing'],
    ['emergency stop', v.emergencyStop.active ? `ACTIVE since ${v.emergencyStop.since}` : 'no'],
  ]);
  if (!v.policy.budgets.length) return ctx.printer.line('\nNo rate budgets.');
  const usage = new Map(v.dispatch.budgets.map((b) => [b.cidr, b]));
  ctx.printer.line('');
  ctx.printer.table(v.policy.budgets, [
    { header: 'network', value: (b) => b.cidr },
    { header: 'max_hosts', value: (b) => String(b.maxHosts), right: true },
    { header: 'max_pps', value: (b) => dash(b.maxPps === undefined ? null : String(b.maxPps)), right: true },
    { header: 'in_flight', value: (b) => String(usage.get(b.cidr)?.inFlight ?? 0), right: true },
    { header: 'waiting', value: (b) => String(usage.get(b.cidr)?.waiting ?? 0), right: true },
  ]);
}

function policyCommand(io: Io): Command {
  const cmd = new Command('policy').description('safe scanning: rate budgets per network and a daily scan window, enforced across every worker');
  examples(cmd, 'falcli project policy show', 'falcli project policy set --budget 10.0.0.0/16:2:300 --window 22:00-06:00 --tz Europe/Berlin');

  examples(
    cmd
      .command('show')
      .description('the policy, how much of each budget is in flight, and why tasks wait')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          const v = await ctx.api().tasker.getScanPolicy(p.id);
          if (ctx.json) return ctx.printer.json(v);
          printPolicy(ctx, v);
        }),
      ),
    'falcli project policy show --json',
  );

  examples(
    cmd
      .command('set')
      .description('replace the policy (owners): budgets CIDR:maxHosts[:maxPps], a window HH:MM-HH:MM in a time zone; what is in flight is re-dispatched under it')
      .option('--budget <cidr:hosts[:pps]>', 'at most this many hosts at once (and packets/s) into the network, fleet-wide (repeatable)', (v: string, acc: RateBudget[] = []) => [...acc, parseBudget(v)], [] as RateBudget[])
      .option('--window <HH:MM-HH:MM>', 'tasks run only inside these daily local hours (across midnight when the end is earlier)')
      .option('--tz <zone>', 'IANA time zone of the window', 'UTC')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const v = await ctx.api().tasker.setScanPolicy(p.id, { budgets: opts.budget, window: opts.window ? parseWindow(opts.window, opts.tz) : null });
          if (ctx.json) return ctx.printer.json(v);
          ctx.printer.success(`Scan policy of project '${p.name}' set${v.applied === false ? ' (the tasker is still applying it)' : ''}.`);
          printPolicy(ctx, v);
        }),
      ),
    'falcli project policy set --budget 10.0.0.0/16:2:300',
    'falcli project policy set --budget 10.0.0.0/16:2:300 --budget 192.0.2.0/24:1 --window 22:00-06:00 --tz Europe/Berlin',
  );

  examples(
    cmd
      .command('clear')
      .description('lift every restriction (owners): no budgets, any time')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          const v = await ctx.api().tasker.setScanPolicy(p.id, { budgets: [], window: null });
          if (ctx.json) return ctx.printer.json(v);
          ctx.printer.success(`Scan policy of project '${p.name}' cleared: tasks run as planned.`);
        }),
      ),
    'falcli project policy clear',
  );
  return cmd;
}

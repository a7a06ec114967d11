import { Argument, Command } from 'commander';
import { action, type Io } from './context.js';
import { examples } from './shared.js';

/** Every command path ("", "project", "project ips", …) with the words that may follow it. */
export function completionTable(root: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const visit = (cmd: Command, path: string) => {
    const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    const words = [...subs.flatMap((c) => [c.name(), ...c.aliases()]), ...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)), '--help'];
    table.set(path, [...new Set(words)]);
    for (const c of subs) for (const name of [c.name(), ...c.aliases()]) visit(c, path ? `${path} ${name}` : name);
  };
  visit(root, '');
  return table;
}

/**
 * A self-contained bash function: it walks the words typed so far down the command tree and offers
 * what may come next, falling back to file names where a command takes a path.
 */
export function bashCompletion(root: Command): string {
  const cases = [...completionTable(root)].map(([path, words]) => `    "${path}") echo "${words.join(' ')}" ;;`).join('\n');
  return `# falcli bash completion: source <(falcli completion bash)
_falcli_words() {
  case "$1" in
${cases}
    *) return 1 ;;
  esac
}
_falcli() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    if _falcli_words "\${path:+$path }$w" >/dev/null; then path="\${path:+$path }$w"; fi
  done
  local words
  words="$(_falcli_words "$path")"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  if [ \${#COMPREPLY[@]} -eq 0 ] && [[ "$cur" != -* ]]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _falcli falcli
`;
}

export function zshCompletion(root: Command): string {
  return `#compdef falcli
# falcli zsh completion: source <(falcli completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(root)}`;
}

export function completionCommand(io: Io, root: () => Command): Command {
  return examples(
    new Command('completion')
      .description('print a shell completion script')
      .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
      .action(
        action(io, (ctx, _opts, shell: string) => {
          ctx.io.stdout.write(shell === 'zsh' ? zshCompletion(root()) : bashCompletion(root()));
        }),
      ),
    'source <(falcli completion bash)',
    'falcli completion zsh > "${fpath[1]}/_falcli"',
    "echo 'source <(falcli completion bash)' >> ~/.bashrc",
  );
}

/** `hangar-ctl completion bash|zsh`: a shell completion script for commands, subcommands and flags. */
import { usageError, type CtlCommand, type CtlIO } from "../command.js";

/** Subcommands and flags per command, for completion. */
const WORDS: Record<string, string> = {
  alerts:
    "--follow --provider --severity --rule --since --limit --output --server --token --kubeconfig --namespace --service --help",
  enforcement:
    "list show revert --provider --state --limit --output --server --token --kubeconfig --namespace --service --help",
  completion: "bash zsh",
};

export function bashCompletion(names: readonly string[]): string {
  const cases = Object.entries(WORDS)
    .map(([cmd, words]) => `    ${cmd}) opts="${words}" ;;`)
    .join("\n");
  return `# hangar-ctl bash completion: source <(hangar-ctl completion bash)
_hangar_ctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names.join(" ")} --help" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="--help" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _hangar_ctl hangar-ctl
`;
}

export const completionCommand: CtlCommand = {
  name: "completion",
  summary: "print a shell completion script (bash, zsh)",
  run(argv: string[], io: CtlIO, commands: readonly CtlCommand[]): Promise<number> {
    const shell = argv[0];
    if (shell === "--help" || shell === "-h") {
      io.stdout(
        "Usage: hangar-ctl completion bash|zsh\n\n  bash: source <(hangar-ctl completion bash)\n  zsh:  autoload -U +X bashcompinit && bashcompinit && source <(hangar-ctl completion zsh)\n\nExit codes: 0 done, 2 usage error.\n",
      );
      return Promise.resolve(0);
    }
    if (shell !== "bash" && shell !== "zsh") throw usageError("name a shell: bash or zsh");
    const names = commands.map((c) => c.name);
    io.stdout(
      shell === "zsh"
        ? `autoload -U +X bashcompinit && bashcompinit\n${bashCompletion(names)}`
        : bashCompletion(names),
    );
    return Promise.resolve(0);
  },
};

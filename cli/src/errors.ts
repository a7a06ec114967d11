/**
 * Exit codes are part of the CLI's contract: scripts branch on them, so a code never changes
 * meaning. The table is printed by `falcli help exit-codes` and in the README.
 */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed (an import or scan ended as failed), or an unexpected error. */
  failure: 1,
  /** Bad flags or arguments, or a required value (such as the project) is missing. */
  usage: 2,
  /** The server refused the token (401) or the role (403). */
  auth: 3,
  /** The project, host, user, token or scan does not exist (or is not visible to you). */
  notFound: 4,
  /** The server could not be reached, timed out, or failed (5xx). */
  server: 5,
  /** The server rejected the request as invalid (400, 409, 413, 422, 429). */
  rejected: 6,
  /** A local file is missing, unreadable, unwritable or not what was expected. */
  file: 7,
  /** The local configuration is missing or unsafe (no profile, token file readable by others). */
  config: 8,
  /** This server does not serve the route yet (the feature is not deployed there). */
  unavailable: 9,
  /** Interrupted by Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitKind = keyof typeof EXIT;

export const EXIT_DESCRIPTIONS: Readonly<Record<ExitKind, string>> = {
  ok: 'success',
  failure: 'the operation ran and failed (import/scan failed), or an unexpected error',
  usage: 'bad flags or arguments, or a required value such as the project is missing',
  auth: 'the server refused the token (401) or your role (403)',
  notFound: 'project, host, user, token or scan not found (or not visible to you)',
  server: 'server unreachable, timed out, or failed (5xx)',
  rejected: 'the server rejected the request as invalid (400/409/413/422/429)',
  file: 'a local file is missing, unreadable, unwritable or malformed',
  config: 'local configuration missing or unsafe (no profile, insecure token file)',
  unavailable: 'the server does not serve this feature yet',
  interrupted: 'interrupted (Ctrl-C)',
};

/** An error meant for the user: its message is printed as is, and `kind` picks the exit code. */
export class CliError extends Error {
  constructor(
    readonly kind: ExitKind,
    message: string,
    /** A next step, printed on its own line under the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }
}

export const usageError = (message: string, hint?: string) => new CliError('usage', message, hint);
export const fileError = (message: string, hint?: string) => new CliError('file', message, hint);
export const configError = (message: string, hint?: string) => new CliError('config', message, hint);

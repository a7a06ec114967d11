import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
}

/**
 * Validates process.env into a typed class at start-up, so a bad variable stops the app with its
 * name in the message instead of failing later in the middle of work.
 */
export function loadConfig<T extends object>(cls: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const instance = plainToInstance(cls, { ...env }, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(instance, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const value = (env as Record<string, unknown>)[e.property];
      const shown = value === undefined ? 'unset' : /SECRET|PASSWORD|TOKEN/i.test(e.property) ? '(hidden)' : JSON.stringify(value);
      return `  ${e.property} (${shown}): ${Object.values(e.constraints ?? {}).join('; ')}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return instance;
}

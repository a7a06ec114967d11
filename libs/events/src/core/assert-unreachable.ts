export function assertUnreachable(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}

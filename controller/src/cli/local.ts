/**
 * `hangar-controller local`, kept so that a user who learned it is told where it went: the
 * local stack runs the agent as well as the controller, so it lives in `@hangar/stack` (the
 * one place that runs both) as `hangar-local`, and the controller does not import the agent.
 */

export const LOCAL_MOVED = `hangar-controller local: the local stack is its own command now, from @hangar/stack:

  npx hangar-local [--fast] [--json] …     (npm start runs it after the build)

It takes the same options as before; \`npx hangar-local --help\` lists them.
`;

/** Prints where the local stack went; exit code 2 (a usage error: the command is gone). */
export function movedLocal(io: { stderr: (s: string) => void }): number {
  io.stderr(LOCAL_MOVED);
  return 2;
}

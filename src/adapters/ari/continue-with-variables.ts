import type { AriPort, ChannelVariable, ContinueTarget, UnsetVariable } from '../../ports/ari';

/**
 * continueWithVariables over plain REST requests, where nothing keeps requests in order: the variables
 * are set in parallel (each its own request) and the continue is sent once all have answered, so the
 * dialplan at the target always sees them. Two round trips.
 */
export async function variablesThenContinue(
  port: Pick<AriPort, 'setChannelVar' | 'continueInDialplan'>,
  channelId: string,
  variables: readonly ChannelVariable[],
  target: ContinueTarget,
): Promise<UnsetVariable[]> {
  const results = await Promise.allSettled(
    variables.map(([name, value]) => port.setChannelVar(channelId, name, value)),
  );
  const unset = unsetVariables(variables, results);
  await port.continueInDialplan(channelId, target);
  return unset;
}

/**
 * The variables whose request failed, in order. A 404 means the channel is gone: it is thrown (the
 * continue would find it gone too), so a caller who hung up reads the same whichever request saw it.
 */
export function unsetVariables(
  variables: readonly ChannelVariable[],
  results: readonly PromiseSettledResult<unknown>[],
): UnsetVariable[] {
  const unset: UnsetVariable[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    if ((result.reason as { statusCode?: unknown } | null)?.statusCode === 404) throw result.reason;
    unset.push({ name: variables[i]?.[0] ?? '', error: result.reason });
  });
  return unset;
}

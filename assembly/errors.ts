/**
 * The one error a cloud assembly or template raises when it cannot be read as the runtime,
 * the CLI or a test needs it. The message names the stack and, where there is one, the logical id.
 */
export class TemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateError';
  }
}

/** `stack S, resource Q` or `stack S`: where a problem is, for error messages. */
export function where(stack: string, logicalId?: string, property?: string): string {
  return `stack ${stack}${logicalId === undefined ? '' : `, resource ${logicalId}`}${property === undefined ? '' : `, property ${property}`}`;
}

/**
 * Errors in the shapes AWS returns. One class for every service: the service adapters
 * turn it into `__type` JSON (JSON protocols) or `<ErrorResponse>` XML (SQS query protocol).
 */
export class AwsError extends Error {
  constructor(
    /** The short code clients switch on, e.g. `ValidationException`, `QueueDoesNotExist`. */
    readonly code: string,
    message: string,
    readonly status = 400,
    /** SQS query-protocol code when it differs (`AWS.SimpleQueueService.NonExistentQueue`). */
    readonly queryCode?: string,
    readonly fault: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = code;
  }
}

export const validation = (message: string) => new AwsError('ValidationException', message);

/** Errors thrown by the publisher. Each names the event and what is wrong with it. */

/** An event failed its catalog schema, or is not in the catalog at all. Thrown before anything is sent. */
export class EventValidationError extends Error {
  public override readonly name = 'EventValidationError';
  /** Position of the event in the `publish()` input; -1 for `publishEvent()`. */
  public readonly index: number;
  public readonly source: string;
  public readonly detailType: string;
  /** Dotted path of the first invalid field, e.g. `detail.data.applicant.creditScore`. */
  public readonly field: string;

  public constructor(props: { index: number; source: string; detailType: string; field: string; reason: string; cause?: unknown }) {
    const where = props.index >= 0 ? ` at index ${props.index}` : '';
    super(`Invalid ${props.detailType} event (source ${props.source})${where}: ${props.field}: ${props.reason}`, { cause: props.cause });
    this.index = props.index;
    this.source = props.source;
    this.detailType = props.detailType;
    this.field = props.field;
  }
}

/** One event is larger than a whole PutEvents request may be. Thrown before anything is sent. */
export class EventTooLargeError extends Error {
  public override readonly name = 'EventTooLargeError';
  public readonly index: number;
  public readonly detailType: string;
  /** Entry size in bytes, computed as EventBridge computes it. */
  public readonly size: number;
  public readonly limit: number;

  public constructor(props: { index: number; detailType: string; size: number; limit: number }) {
    const where = props.index >= 0 ? ` at index ${props.index}` : '';
    super(
      `${props.detailType} event${where} is ${props.size} bytes, over the ${props.limit}-byte PutEvents limit; ` +
        'store the payload elsewhere (for example S3) and publish a reference to it',
    );
    this.index = props.index;
    this.detailType = props.detailType;
    this.size = props.size;
    this.limit = props.limit;
  }
}

/** `publishEvent()` could not publish its event after all attempts. */
export class PublishFailedError extends Error {
  public override readonly name = 'PublishFailedError';
  public readonly detailType: string;
  public readonly errorCode: string;

  public constructor(props: { detailType: string; errorCode: string; errorMessage?: string }) {
    super(`Publishing ${props.detailType} failed with ${props.errorCode}${props.errorMessage ? `: ${props.errorMessage}` : ''}`);
    this.detailType = props.detailType;
    this.errorCode = props.errorCode;
  }
}

/** A publisher or consumer option is out of range. Thrown by the constructor. */
export class InvalidOptionError extends Error {
  public override readonly name = 'InvalidOptionError';
}

/**
 * Lambda `Invoke` (REST-JSON, `POST /2015-03-31/functions/<name>/invocations`), synchronous
 * (RequestResponse) and DryRun invocations of the app's functions, so `aws lambda invoke
 * --endpoint-url` and the CLI's `invoke` run one function with an event of their choosing.
 * A function error answers 200 with `X-Amz-Function-Error: Unhandled` and the error as the
 * payload, as Lambda does. `LogType: Tail` is accepted but returns no log tail: the function's
 * output is in its log group (`/aws/lambda/<name>`), readable with FilterLogEvents.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import type http from 'node:http';
import type { FunctionRegistry } from './lambda';

/** The path of Invoke; the name may be a name, a partial or full ARN, with an optional qualifier. */
export const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;

/** Lambda's synchronous payload limit. @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

function sendLambdaError(res: http.ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Amzn-ErrorType': type });
  res.end(JSON.stringify({ Type: 'User', message }));
}

/** Serves one Invoke request whose path matched INVOKE_PATH. */
export async function serveInvoke(
  functions: FunctionRegistry,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  rawName: string,
): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    return sendLambdaError(res, 400, 'InvalidParameterValueException', 'FunctionName is not validly URL-encoded.');
  }
  // A qualifier ($LATEST, a version or alias) names the one code the runtime has.
  const bare = name.startsWith('arn:') ? name.split(':').slice(0, 7).join(':') : name.split(':')[0]!;
  const fn = functions.get(bare);
  if (!fn) return sendLambdaError(res, 404, 'ResourceNotFoundException', `Function not found: ${name.slice(0, 170)}`);
  if (req.method !== 'POST') return sendLambdaError(res, 405, 'InvalidRequestContentException', 'Invoke takes POST.');
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type === 'DryRun') {
    res.writeHead(204);
    res.end();
    return;
  }
  if (type !== 'RequestResponse')
    return sendLambdaError(
      res,
      400,
      'InvalidParameterValueException',
      `InvocationType '${type.slice(0, 40)}' is not served here; use RequestResponse or DryRun.`,
    );
  if (body.length > MAX_SYNC_PAYLOAD_BYTES)
    return sendLambdaError(
      res,
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
    );
  const payload = body.length === 0 ? '{}' : body.toString('utf8');
  try {
    JSON.parse(payload);
  } catch {
    return sendLambdaError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json.');
  }
  const result = await fn.invoke(payload);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' };
  if (result.ok) {
    res.writeHead(200, headers);
    res.end(result.payload);
    return;
  }
  res.writeHead(200, { ...headers, 'X-Amz-Function-Error': 'Unhandled' });
  res.end(JSON.stringify(result.error));
}

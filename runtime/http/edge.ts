/**
 * What the endpoint accepts from browsers. Any web page can make a browser send requests to
 * 127.0.0.1, so, as LocalStack does, the runtime refuses:
 * - requests with an `Origin` (or, without one, a `Referer`) that is not an allowed origin:
 *   by default only the runtime's own origin (localhost, 127.0.0.1 or [::1] on its own port);
 * - requests a browser marks as cross-site (`Sec-Fetch-Site: cross-site` / `same-site`) without
 *   an allowed origin, which covers GET navigations and form posts that carry no Origin;
 * - requests whose `Host` is not a name the runtime serves (DNS rebinding: an attacker's name
 *   that resolves to 127.0.0.1 makes the page same-origin, but its Host header gives it away).
 * Requests without these headers (the AWS SDKs and CLI send none) are served as before.
 * https://docs.localstack.cloud/references/configuration/#security
 */
import type * as http from 'node:http';

export interface EdgeOptions {
  /**
   * Origins allowed besides the runtime's own, e.g. `http://localhost:3000` for a web app in
   * development. `*` allows every origin. Also read from `EXTRA_CORS_ALLOWED_ORIGINS`
   * (comma-separated), the name LocalStack uses.
   * @default - only the runtime's own origin
   */
  extraAllowedOrigins?: string[];
  /**
   * Host names served besides localhost, 127.0.0.1, [::1] and the bind address, e.g. a
   * docker-compose service name. Also read from `EXTRA_ALLOWED_HOSTS` (comma-separated).
   * @default - none
   */
  extraAllowedHosts?: string[];
  /**
   * Serve every Origin and Host, as LocalStack's `DISABLE_CORS_CHECKS=1` (also read from that
   * variable). Any web page you visit can then change the runtime's state.
   * @default false
   */
  disableCorsChecks?: boolean;
}

/** Methods and headers a preflight allows; AWS SDKs in browsers send these. */
const ALLOW_METHODS = 'HEAD,GET,PUT,POST,DELETE,OPTIONS,PATCH';
const ALLOW_HEADERS =
  'authorization,content-type,content-md5,cache-control,x-amz-content-sha256,x-amz-date,x-amz-security-token,x-amz-user-agent,x-amz-target,x-amz-json-1.0,x-amz-json-1.1,amz-sdk-invocation-id,amz-sdk-request';
const EXPOSE_HEADERS = 'x-amzn-requestid,x-amzn-query-error,x-amz-crc32,x-amzn-errortype,date';

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export class EdgePolicy {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;
  readonly disabled: boolean;

  constructor(bindHost: string, options: EdgeOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.disabled = options.disableCorsChecks ?? ['1', 'true'].includes(String(env.DISABLE_CORS_CHECKS ?? '').toLowerCase());
    this.hosts = new Set(
      ['localhost', '127.0.0.1', '[::1]', bracket(bindHost), ...(options.extraAllowedHosts ?? list(env.EXTRA_ALLOWED_HOSTS))].map((h) =>
        h.toLowerCase(),
      ),
    );
    this.origins = new Set((options.extraAllowedOrigins ?? list(env.EXTRA_CORS_ALLOWED_ORIGINS)).map((o) => o.replace(/\/+$/, '')));
  }

  /** Why the request is refused, or undefined when it may be served. */
  refusal(req: http.IncomingMessage): string | undefined {
    if (this.disabled) return undefined;
    const host = req.headers.host;
    if (host !== undefined && !this.servesHost(host, req.socket.localAddress)) {
      return `Host ${host} is not a name this endpoint serves; add it with EXTRA_ALLOWED_HOSTS.`;
    }
    const origin = requestOrigin(req);
    if (origin !== undefined) {
      if (!this.allowsOrigin(origin, req)) return `Origin ${origin} is not allowed; add it with EXTRA_CORS_ALLOWED_ORIGINS.`;
      return undefined;
    }
    const site = String(req.headers['sec-fetch-site'] ?? '');
    if (site === 'cross-site' || site === 'same-site') return `Cross-site browser requests are not allowed (Sec-Fetch-Site: ${site}).`;
    return undefined;
  }

  /** CORS headers for an allowed Origin (none without one). */
  corsHeaders(req: http.IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || (!this.disabled && !this.allowsOrigin(origin, req))) return {};
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS, Vary: 'Origin' };
  }

  /** The answer to a CORS preflight from an allowed origin. */
  preflightHeaders(req: http.IncomingMessage): Record<string, string> {
    const asked = req.headers['access-control-request-headers'];
    return {
      ...this.corsHeaders(req),
      'Access-Control-Allow-Methods': ALLOW_METHODS,
      'Access-Control-Allow-Headers': typeof asked === 'string' && asked.length > 0 ? `${ALLOW_HEADERS},${asked}` : ALLOW_HEADERS,
      'Access-Control-Max-Age': '7200',
    };
  }

  private servesHost(hostHeader: string, localAddress: string | undefined): boolean {
    const name = hostName(hostHeader).toLowerCase();
    if (this.hosts.has(name)) return true;
    // The address the connection came in on, e.g. a LAN address with --host 0.0.0.0.
    return localAddress !== undefined && (name === localAddress || name === `[${localAddress}]`);
  }

  private allowsOrigin(origin: string, req: http.IncomingMessage): boolean {
    if (this.origins.has('*') || this.origins.has(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    // The runtime's own origin: one of the names it serves, on the port it listens on.
    return this.hosts.has(url.hostname.toLowerCase()) && port === String(req.socket.localPort);
  }
}

/** `Origin`, or the origin of `Referer` when a browser sent no Origin. */
function requestOrigin(req: http.IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) return origin;
  const referer = req.headers.referer;
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return referer;
  }
}

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

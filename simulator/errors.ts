/**
 * Dify's error envelope `{code, message, status}` as a throwable, plus the errors the simulator raises.
 * Messages follow Dify's error classes and werkzeug's defaults (SERVICE_API.md §1, §6).
 */

export class DifyApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): { code: string; message: string; status: number } {
    return { code: this.code, message: this.message, status: this.status };
  }
}

export const ROUTE_NOT_FOUND_MESSAGE =
  'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';

export const unauthorized = (message: string) => new DifyApiError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer realm="api"' });

export const notFound = (message: string = ROUTE_NOT_FOUND_MESSAGE) => new DifyApiError(404, 'not_found', message);

export const methodNotAllowed = (allowed: string[]) =>
  new DifyApiError(405, 'method_not_allowed', 'The method is not allowed for the requested URL.', {
    Allow: allowed.join(', '),
  });

export const invalidParam = (message: string) => new DifyApiError(400, 'invalid_param', message);

export const badRequest = (message: string) => new DifyApiError(400, 'bad_request', message);

export const userRequired = () => invalidParam('Arg user must be provided.');

export const unsupportedMediaType = () =>
  new DifyApiError(415, 'unsupported_media_type', "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.");

export const invalidJson = () => badRequest('Invalid JSON payload received or JSON payload is empty.');

export const notChatApp = () => new DifyApiError(400, 'not_chat_app', 'Please check if your Chat app mode matches the right API route.');

export const appUnavailable = () => new DifyApiError(400, 'app_unavailable', 'App unavailable, please check your app configurations.');

export const notWorkflowApp = () => new DifyApiError(400, 'not_workflow_app', 'Please check if your Workflow app mode matches the right API route.');

export const tooManyRequests = (appName: string, limit: number) =>
  new DifyApiError(
    429,
    'too_many_requests',
    `Too many requests. Please try again later. The current maximum concurrent requests allowed for ${appName} is ${limit}.`,
  );

export const payloadTooLarge = () => new DifyApiError(413, 'request_entity_too_large', 'The data value transmitted exceeds the capacity limit.');

export const internalError = () => new DifyApiError(500, 'unknown', 'Internal Server Error');

/** A pydantic-like validation message, as Dify puts `str(ValidationError)` into `invalid_param`. */
export function validationError(model: string, field: string, problem: string): DifyApiError {
  return invalidParam(`1 validation error for ${model}\n${field}\n  ${problem}`);
}

/** Default code and message for an HTTP status, used by the 'status' and 'html' faults. */
export function defaultsForStatus(status: number): { code: string; message: string; title: string } {
  const table: Record<number, [string, string, string]> = {
    400: ['bad_request', 'The browser (or proxy) sent a request that this server could not understand.', 'Bad Request'],
    401: ['unauthorized', 'Access token is invalid', 'Unauthorized'],
    403: ['forbidden', "You don't have the permission to access the requested resource.", 'Forbidden'],
    404: ['not_found', ROUTE_NOT_FOUND_MESSAGE, 'Not Found'],
    409: ['conflict', 'A conflict happened while processing the request.', 'Conflict'],
    413: ['request_entity_too_large', 'The data value transmitted exceeds the capacity limit.', 'Request Entity Too Large'],
    429: ['too_many_requests', 'Too many requests. Please try again later.', 'Too Many Requests'],
    500: ['internal_server_error', 'Internal Server Error, please contact support.', 'Internal Server Error'],
    502: ['bad_gateway', 'The proxy server received an invalid response from an upstream server.', 'Bad Gateway'],
    503: ['service_unavailable', 'The server is temporarily unable to service your request.', 'Service Temporarily Unavailable'],
    504: ['gateway_timeout', 'The connection to an upstream server timed out.', 'Gateway Time-out'],
  };
  const [code, message, title] = table[status] ?? ['unknown', `HTTP ${status}`, `Error ${status}`];
  return { code, message, title };
}

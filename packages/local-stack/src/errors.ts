/** A service process failed to start, get ready, or exited while it should be running. */
export class ServiceFailed extends Error {
  constructor(readonly service: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ServiceFailed';
  }
}

/** An HTTP call to a service answered with an unexpected status or body. */
export class HttpCallFailed extends Error {
  constructor(readonly service: string, readonly status: number, readonly body: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HttpCallFailed';
  }
}

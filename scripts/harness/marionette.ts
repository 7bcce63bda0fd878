/**
 * A small Marionette client: the protocol Firefox and Thunderbird speak when started with
 * `--marionette` (https://firefox-source-docs.mozilla.org/testing/marionette/Protocol.html).
 *
 * Wire format: every packet is `<byte length>:<JSON>`. On connect the server sends a hello
 * (`{"applicationType":"gecko","marionetteProtocol":3}`); then, at protocol level 3, a command
 * is `[0, id, name, params]` and its response `[1, id, error, result]`, where `error` is null
 * or `{error, message, stacktrace}`. Commands are answered in order, one at a time.
 */
import { Socket, createConnection } from 'node:net';

/** The WebDriver element reference keys: content elements, and chrome (XUL/HTML) elements. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';
const CHROME_ELEMENT_KEY = 'chromeelement-9fc5-4b51-a3c8-01716eedeb04';

/** A reference to a DOM element as Marionette hands it out; pass it back as-is. */
export type ElementRef = Readonly<Record<string, string>>;

export type Context = 'chrome' | 'content';

export type Locator = 'css selector' | 'xpath' | 'id' | 'tag name' | 'link text';

/** A WebDriver error returned by Marionette (e.g. `no such element`, `javascript error`). */
export class MarionetteError extends Error {
  constructor(
    readonly command: string,
    readonly error: string,
    readonly remoteMessage: string,
    readonly stacktrace: string,
  ) {
    super(`${command}: ${error}: ${remoteMessage}`);
    this.name = 'MarionetteError';
  }
}

interface Pending {
  readonly name: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id inside an element reference, whichever key (content or chrome) carries it. */
export function elementId(ref: ElementRef): string {
  const id = ref[ELEMENT_KEY] ?? ref[CHROME_ELEMENT_KEY] ?? Object.values(ref)[0];
  if (id === undefined) throw new Error(`not an element reference: ${JSON.stringify(ref)}`);
  return id;
}

export class Marionette {
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private hello: ((value: Record<string, unknown>) => void) | undefined;
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    const fail = (error: Error): void => {
      this.closedError = error;
      for (const p of this.pending.values()) p.reject(new Error(`${p.name}: ${error.message}`));
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => {
      fail(new Error('Marionette connection closed'));
    });
  }

  /** Connects and reads the server's hello; rejects if it is not protocol level 3. */
  // 30 s: a Thunderbird starting beside another one on a busy 2-core machine was seen to take
  // more than 10 s between opening the port and saying hello.
  static async connect(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<Marionette> {
    const socket = createConnection({ host, port });
    const client = new Marionette(socket);
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no Marionette hello on ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.hello = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    if (hello['marionetteProtocol'] !== 3) {
      socket.destroy();
      throw new Error(`unsupported Marionette protocol: ${JSON.stringify(hello)}`);
    }
    return client;
  }

  private drain(): void {
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(length)) {
        this.socket.destroy(new Error(`bad Marionette packet header: ${this.buffer.subarray(0, Math.min(colon, 20)).toString()}`));
        return;
      }
      if (this.buffer.length < colon + 1 + length) return;
      const body = this.buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.buffer = this.buffer.subarray(colon + 1 + length);
      this.dispatch(JSON.parse(body) as unknown);
    }
  }

  private dispatch(packet: unknown): void {
    if (isRecord(packet)) {
      this.hello?.(packet);
      this.hello = undefined;
      return;
    }
    if (!Array.isArray(packet) || packet[0] !== 1) return;
    const [, id, error, result] = packet as [1, number, unknown, unknown];
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (isRecord(error)) {
      const text = (key: string): string => {
        const v = error[key];
        return typeof v === 'string' ? v : JSON.stringify(v ?? '');
      };
      pending.reject(new MarionetteError(pending.name, text('error'), text('message'), text('stacktrace')));
    } else {
      pending.resolve(result);
    }
  }

  /** Sends one command and resolves with its raw result; rejects with a MarionetteError. */
  send(name: string, params: Record<string, unknown> = {}): Promise<unknown> {
    if (this.closedError) return Promise.reject(new Error(`${name}: ${this.closedError.message}`));
    const id = this.nextId++;
    const body = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    return new Promise((resolve, reject) => {
      this.pending.set(id, { name, resolve, reject });
      this.socket.write(Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body]));
    });
  }

  private async value<T>(name: string, params: Record<string, unknown> = {}): Promise<T> {
    const result = await this.send(name, params);
    return (isRecord(result) && 'value' in result ? result['value'] : result) as T;
  }

  async newSession(capabilities: Record<string, unknown> = {}): Promise<{ sessionId: string; capabilities: Record<string, unknown> }> {
    const result = await this.send('WebDriver:NewSession', { capabilities: { alwaysMatch: capabilities } });
    if (!isRecord(result) || typeof result['sessionId'] !== 'string') throw new Error(`unexpected NewSession result: ${JSON.stringify(result)}`);
    return { sessionId: result['sessionId'], capabilities: isRecord(result['capabilities']) ? result['capabilities'] : {} };
  }

  async deleteSession(): Promise<void> {
    await this.send('WebDriver:DeleteSession');
  }

  async setContext(context: Context): Promise<void> {
    await this.send('Marionette:SetContext', { value: context });
  }

  async getContext(): Promise<Context> {
    return this.value<Context>('Marionette:GetContext');
  }

  /**
   * Runs `script` as a function body (`arguments[i]` are `args`) in the current context and
   * returns what it returns, JSON-cloned. Element references in `args` become elements.
   */
  async executeScript<T = unknown>(script: string, args: readonly unknown[] = [], options: { sandbox?: string } = {}): Promise<T> {
    return this.value<T>('WebDriver:ExecuteScript', { script, args, ...(options.sandbox ? { sandbox: options.sandbox } : {}) });
  }

  /**
   * Like executeScript, but the script calls its last argument (`arguments[arguments.length - 1]`)
   * with the result. In a chrome context, an `async` body's returned promise works too through
   * executeScript; this form also waits for callbacks. Times out after the session's script timeout.
   */
  async executeAsyncScript<T = unknown>(script: string, args: readonly unknown[] = []): Promise<T> {
    return this.value<T>('WebDriver:ExecuteAsyncScript', { script, args });
  }

  /** Sets the session's timeouts (ms): `script` for scripts, `implicit` for element look-ups. */
  async setTimeouts(timeouts: { script?: number; implicit?: number; pageLoad?: number }): Promise<void> {
    await this.send('WebDriver:SetTimeouts', timeouts);
  }

  async findElement(selector: string, using: Locator = 'css selector', root?: ElementRef): Promise<ElementRef> {
    return this.value<ElementRef>('WebDriver:FindElement', { using, value: selector, ...(root ? { element: elementId(root) } : {}) });
  }

  async findElements(selector: string, using: Locator = 'css selector'): Promise<ElementRef[]> {
    return this.value<ElementRef[]>('WebDriver:FindElements', { using, value: selector });
  }

  async click(element: ElementRef): Promise<void> {
    await this.send('WebDriver:ElementClick', { id: elementId(element) });
  }

  async sendKeys(element: ElementRef, text: string): Promise<void> {
    await this.send('WebDriver:ElementSendKeys', { id: elementId(element), text });
  }

  async clear(element: ElementRef): Promise<void> {
    await this.send('WebDriver:ElementClear', { id: elementId(element) });
  }

  async getText(element: ElementRef): Promise<string> {
    return this.value<string>('WebDriver:GetElementText', { id: elementId(element) });
  }

  /** Switches content commands into a frame (an `<iframe>`/`<browser>` element), or back to the top with null. */
  async switchToFrame(element: ElementRef | null): Promise<void> {
    await this.send('WebDriver:SwitchToFrame', element === null ? {} : { element: elementId(element), focus: true });
  }

  async switchToParentFrame(): Promise<void> {
    await this.send('WebDriver:SwitchToParentFrame');
  }

  async getWindowHandles(): Promise<string[]> {
    return this.value<string[]>('WebDriver:GetWindowHandles');
  }

  async getChromeWindowHandles(): Promise<string[]> {
    return this.value<string[]>('WebDriver:GetChromeWindowHandles');
  }

  async switchToWindow(handle: string): Promise<void> {
    await this.send('WebDriver:SwitchToWindow', { handle, focus: true });
  }

  /** A PNG of the current window (or of `element`), base64-encoded. */
  async takeScreenshot(element?: ElementRef, full = false): Promise<string> {
    return this.value<string>('WebDriver:TakeScreenshot', { full, hash: false, ...(element ? { id: elementId(element) } : {}) });
  }

  /** Closes the socket (the session ends with it). */
  close(): void {
    this.socket.destroy();
  }
}

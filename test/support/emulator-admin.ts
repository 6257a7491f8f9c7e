/** A JSON call to an emulator admin API (`docs/EMULATORS.md`): what stands in for the customer's own cloud console. */
export type EmulatorAdmin = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

export function emulatorAdmin(baseUrl: string | (() => string)): EmulatorAdmin {
  return async (method, path, body) => {
    const res = await fetch(`${typeof baseUrl === 'function' ? baseUrl() : baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

// Talking to the engines: JSON in and out. Every number the page shows comes from here.
// The transport is pluggable: the page asks its web server over HTTP (the default below); the
// notebook widget (widget.js) sends the same requests as messages to its kernel. Both end in the
// same Python function, nn/explore/api.py's answer().

let transport = {
  async get(path) {
    return answer(await fetch(`/api/${path}`, { cache: "no-store" }));
  },
  async post(path, body) {
    return answer(await fetch(`/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }));
  },
  reload() { location.reload(); }, // after switching to another model: the views are built for its shape
};

// transport: {get(path), post(path, body), reload()}; paths are api.py's ("state?since=3", "example", ...).
export function useTransport(other) {
  transport = other;
}

export const getJSON = (path) => transport.get(path.replace(/^\/api\//, ""));
export const postJSON = (path, body) => transport.post(path.replace(/^\/api\//, ""), body);
export const reload = () => transport.reload();

async function answer(response) {
  const value = await response.json();
  if (!response.ok) throw new Error(value.error || `${response.status} ${response.statusText}`);
  return value;
}

// Arrays travel as {"shape", "float32" | "float64": base64 bytes}, as wants.packed() writes them.
export function unpack(packed) {
  const exact = packed.float64 !== undefined;
  const bytes = Uint8Array.from(atob(exact ? packed.float64 : packed.float32), (c) => c.charCodeAt(0));
  return exact ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

// A packed matrix as a list of rows of numbers.
export function rows(packed) {
  const flat = unpack(packed);
  const n = packed.shape[1];
  return Array.from({ length: packed.shape[0] }, (_, j) => Array.from(flat.subarray(n * j, n * (j + 1))));
}

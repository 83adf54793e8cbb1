// Talking to the explorer's server: JSON in and out. Every number the page shows comes from here.

export async function getJSON(path) {
  return answer(await fetch(path, { cache: "no-store" }));
}

export async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return answer(response);
}

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

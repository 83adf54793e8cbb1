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

// Large arrays (a 28x28 image per neuron) travel as base64 float32, as wants.packed() writes them.
export function unpack(text) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

// Calls this server's Rekognition API the way any client does: POST / with X-Amz-Target, AWS JSON 1.1.
// With keys in sessionStorage, requests are signed with SigV4 in the browser (aws4fetch, WebCrypto).
const KEYS = "rekollect.console.keys";
const ENDPOINT = new URL("../", import.meta.url); // the server's root, where POST / is served

// Errors that mean the keys are missing or wrong: the page then shows the keys form ("rekollect-keys" event).
const KEY_ERRORS = new Set([
  "MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignatureException",
]);

// The API's message when an image has no face (SearchFacesByImage, CompareFaces...), and what the console says instead.
const NO_FACE = "There are no faces in the image. Should be at least 1.";

export class ApiError extends Error {
  // type: AWS's error type (the response's __type), message: its message.
  constructor(type, message) {
    super(`${type}: ${message}`);
    this.type = type;
    this.apiMessage = message;
  }

  // Whether the API refused an image because it found no face in it.
  get noFace() {
    return this.type === "InvalidParameterException" && this.apiMessage === NO_FACE;
  }
}

// What to tell a person about `error` (an ApiError or any Error); `what` names the image for a no-face answer.
export function explain(error, what = "the photo") {
  if (error instanceof ApiError && error.noFace) return `No face was found in ${what}: it needs a face at least 40 pixels wide.`;
  return error.message;
}

// {accessKeyId, secretAccessKey, region} or null.
export function storedKeys() {
  const value = sessionStorage.getItem(KEYS);
  return value ? JSON.parse(value) : null;
}

export function storeKeys(keys) {
  if (keys) sessionStorage.setItem(KEYS, JSON.stringify(keys));
  else sessionStorage.removeItem(KEYS);
}

async function signedFetch(keys, init) {
  if (!globalThis.crypto?.subtle) {
    throw new ApiError("InsecureContext", "signing needs WebCrypto, which browsers offer only over https or on a loopback address");
  }
  const { AwsClient } = await import("./vendor/aws4fetch.js");
  const client = new AwsClient({ ...keys, service: "rekognition", retries: 0 });
  return client.fetch(ENDPOINT, init);
}

// X-Amz-Target prefix of Rekollect's extension operations (service model rekollect-extensions, same signing).
export const EXTENSIONS = "RekollectExtensions";

// Runs `operation` of `service` (an X-Amz-Target prefix) with the request members `body`; resolves to
// the response members, or rejects with ApiError.
export async function call(operation, body = {}, service = "RekognitionService") {
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `${service}.${operation}` },
    body: JSON.stringify(body),
  };
  const keys = storedKeys();
  const response = keys ? await signedFetch(keys, init) : await fetch(ENDPOINT, init);
  const payload = await response.json().catch(() => ({}));
  if (response.ok) return payload;
  const error = new ApiError(payload.__type ?? `HTTP ${response.status}`, payload.message ?? response.statusText);
  if (KEY_ERRORS.has(error.type)) window.dispatchEvent(new CustomEvent("rekollect-keys", { detail: error }));
  throw error;
}

// Every item of a paged list operation (`key` names the list member; `service` as for call), following NextToken.
export async function callAll(operation, body, key, service) {
  const items = [];
  let token;
  do {
    const page = await call(operation, token ? { ...body, NextToken: token } : body, service);
    items.push(...page[key]);
    token = page.NextToken;
  } while (token);
  return items;
}

// Bytes (a Blob or File) as the base64 text AWS JSON carries blobs in.
export function imageBytes(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Base64 text (a blob member of a response) as a Blob of `type`.
export function blobOf(base64, type) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

// `text` made a valid ExternalImageId (or UserId, `max` 128): accents folded to ASCII, anything outside
// [a-zA-Z0-9_.\-:] replaced by "_", cut to `max` characters; null when nothing is left (as `rekollect index`).
export function fittedId(text, max = 255) {
  const folded = text.normalize("NFKD").replace(/[^\x00-\x7f]/g, "");
  const fitted = folded.replace(/[^a-zA-Z0-9_.\-:]/g, "_").slice(0, max);
  return fitted || null;
}

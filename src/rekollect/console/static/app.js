// The console's pages by location hash, the keys form, and the error line.
import { storeKeys, storedKeys } from "./api.js";
import { collectionPage, collectionsPage } from "./collections.js";
import { comparePage } from "./compare.js";
import { peoplePage } from "./people.js";
import { streamsPage } from "./streams.js";
import { tryPage } from "./try.js";
import { videoPage } from "./video.js";

const PAGES = { collections: collectionsPage, collection: collectionPage, try: tryPage, compare: comparePage, video: videoPage, people: peoplePage, streams: streamsPage };
const main = document.getElementById("page");
const error = document.getElementById("error");
const keys = document.getElementById("keys");

function showError(message) {
  error.textContent = message;
  error.hidden = !message;
}

async function route() {
  const [name, ...params] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  showError("");
  main.replaceChildren();
  try {
    await (PAGES[name] ?? collectionsPage)(main, params);
  } catch (failure) {
    showError(failure.message);
  }
}

function showKeys() {
  const stored = storedKeys();
  if (stored) {
    keys.elements.accessKeyId.value = stored.accessKeyId;
    keys.elements.region.value = stored.region;
  }
  keys.hidden = false;
}

keys.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = keys.elements;
  storeKeys({ accessKeyId: form.accessKeyId.value.trim(), secretAccessKey: form.secretAccessKey.value, region: form.region.value.trim() });
  form.secretAccessKey.value = "";
  keys.hidden = true;
  route();
});
document.getElementById("forget-keys").addEventListener("click", () => { storeKeys(null); keys.reset(); route(); });
document.getElementById("keys-button").addEventListener("click", () => (keys.hidden ? showKeys() : (keys.hidden = true)));
window.addEventListener("rekollect-keys", showKeys);
window.addEventListener("hashchange", route);
route();

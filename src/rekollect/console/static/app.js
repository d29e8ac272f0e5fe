// The console's router (pages by location hash, pages.js), its navigation, the keys form and the error line.
//
// Each route change is one generation: the page renders into a view of its own, which replaces the
// shown one only if no later route change happened meanwhile, so a slow page never covers the page
// asked for after it. A page that shows progress before it is done calls context.show(); anything a
// page does later (polling) asks context.current() first. A "rekollect-rendered" event on window says
// when each page's render settled, and whether it was shown.
import { storeKeys, storedKeys } from "./api.js";
import { errorBox, h } from "./dom.js";
import { DEFAULT_PAGE, PAGES } from "./pages.js";

const main = document.getElementById("page");
const error = document.getElementById("error");
const keys = document.getElementById("keys");
const nav = document.getElementById("nav");
let generation = 0;

const byName = new Map(PAGES.map((page) => [page.name, page]));
nav.replaceChildren(...PAGES.filter((page) => page.label).map((page) =>
  h("a", { href: `#/${page.name}`, "data-page": page.name }, page.label)));

function showError(failure) {
  error.replaceChildren(...(failure ? [errorBox(failure)] : []));
  error.hidden = !failure;
}

function markTab(page) {
  const tab = page.tab ?? page.name;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  const mine = ++generation;
  const [name, ...params] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = byName.get(name) ?? byName.get(DEFAULT_PAGE);
  const view = h("div", { class: "view", "data-page": page.name });
  const context = {
    params,
    current: () => mine === generation,
    show: () => { if (mine === generation && view.parentNode !== main) main.replaceChildren(view); },
  };
  markTab(page);
  showError("");
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    await page.render(view, context);
    context.show();
  } catch (failure) {
    if (context.current()) {
      context.show();
      showError(failure);
    }
  }
  // Said when a page's render has settled, shown or (superseded by a later route) dropped.
  window.dispatchEvent(new CustomEvent("rekollect-rendered", { detail: { page: page.name, shown: context.current() } }));
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

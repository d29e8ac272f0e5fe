// #/collections: the collections with their counts, created and deleted here (ListCollections,
// DescribeCollection, CreateCollection, DeleteCollection); #/collection/<id>/...: one collection
// (collection.js).
import { call, callAll } from "./api.js";
import { add, button, errorBox, h, put, table } from "./dom.js";

export { collectionPage } from "./collection.js";

// #/collections
export async function collectionsPage(view, context) {
  const ids = await callAll("ListCollections", {}, "CollectionIds");
  const described = await Promise.all(ids.map((id) => call("DescribeCollection", { CollectionId: id })));
  const message = h("div", { class: "message" });
  const name = h("input", { name: "CollectionId", required: true, pattern: "[a-zA-Z0-9_.\\-]+", maxlength: 255, placeholder: "e.g. staff" });
  async function create(event) {
    event.preventDefault();
    try {
      await call("CreateCollection", { CollectionId: name.value });
      location.hash = `#/collection/${encodeURIComponent(name.value)}/add`;
    } catch (error) {
      put(message, errorBox(error));
    }
  }
  put(view,
    h("h2", null, "Collections"),
    h("form", { id: "create-collection", class: "inline-form", onsubmit: create },
      h("label", null, "New collection ", name), h("button", { type: "submit" }, "Create")),
    message,
    ids.length === 0 ? h("p", { class: "empty" }, "No collections yet: create one, then add photos to it.") : table(
      ["Collection", "Faces", "Users", "Face model", "Created", ""],
      ids.map((id, i) => [
        h("a", { href: `#/collection/${encodeURIComponent(id)}`, class: "collection" }, id),
        String(described[i].FaceCount), String(described[i].UserCount ?? 0), described[i].FaceModelVersion,
        new Date(described[i].CreationTimestamp * 1000).toLocaleString(),
        confirmButton("Delete", `Delete ${id} with its ${described[i].FaceCount} faces?`, async () => {
          await call("DeleteCollection", { CollectionId: id });
          if (context.current()) await collectionsPage(view, context);
        }, message),
      ]),
      { id: "collections" }));
}

// A button that asks, in place, to confirm before running `action`; errors are shown in `message`.
export function confirmButton(label, question, action, message) {
  const holder = h("span", { class: "confirm" });
  const ask = button(label, () => {
    put(holder, h("span", { class: "question" }, question, " "),
      button(`Yes, ${label.toLowerCase()}`, async () => {
        try {
          await action();
        } catch (error) {
          put(message, errorBox(error));
          put(holder, ask);
        }
      }, { class: "danger" }), " ",
      button("Cancel", () => put(holder, ask)));
  }, { class: "danger" });
  add(holder, ask);
  return holder;
}

// A <select> of the collections (first option: none, unless `required`), for pages that work on one.
export async function collectionSelect(name, required = false) {
  const ids = await callAll("ListCollections", {}, "CollectionIds");
  return h("select", { name, required },
    required ? h("option", { value: "" }, "(choose a collection)") : h("option", { value: "" }, "(no collection)"),
    ids.map((id) => h("option", { value: id }, id)));
}

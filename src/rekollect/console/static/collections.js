// Collections with their counts, and the faces and users of one collection, paged.
import { call, callAll } from "./api.js";
import { h, table } from "./dom.js";

const PAGE_SIZE = 10; // MaxResults of each ListFaces / ListUsers page

// #/collections: ListCollections, then DescribeCollection of each.
export async function collectionsPage(main) {
  const ids = await callAll("ListCollections", {}, "CollectionIds");
  const described = await Promise.all(ids.map((id) => call("DescribeCollection", { CollectionId: id })));
  main.replaceChildren(
    h("h2", null, "Collections"),
    ids.length === 0 ? h("p", null, "No collections yet.") : table(
      ["Collection", "Faces", "Users", "Face model", "Created"],
      ids.map((id, i) => [
        h("a", { href: `#/collection/${encodeURIComponent(id)}`, class: "collection" }, id),
        String(described[i].FaceCount), String(described[i].UserCount ?? 0), described[i].FaceModelVersion,
        new Date(described[i].CreationTimestamp * 1000).toLocaleString(),
      ]),
      { id: "collections" }));
}

// A table of one list operation's items, a page at a time, with Previous/Next buttons.
function pagedTable(operation, body, key, headings, row) {
  const section = h("section", null);
  const tokens = [undefined]; // NextToken of each page shown so far
  async function show(index) {
    const page = await call(operation, { ...body, MaxResults: PAGE_SIZE, NextToken: tokens[index] });
    tokens[index + 1] = page.NextToken;
    const previous = h("button", { type: "button", onclick: () => show(index - 1) }, "Previous");
    const next = h("button", { type: "button", onclick: () => show(index + 1) }, "Next");
    previous.disabled = index === 0;
    next.disabled = !page.NextToken;
    section.replaceChildren(table(headings, page[key].map(row), { class: key }),
      previous, h("span", { class: "page-number" }, ` page ${index + 1} `), next);
  }
  return { section, ready: show(0) };
}

// #/collection/<id>: its faces (ListFaces) and users (ListUsers).
export async function collectionPage(main, [id]) {
  const faces = pagedTable("ListFaces", { CollectionId: id }, "Faces",
    ["FaceId", "ExternalImageId", "UserId", "Confidence", "Model"],
    (face) => [face.FaceId, face.ExternalImageId ?? "", face.UserId ?? "", face.Confidence, face.IndexFacesModelVersion ?? ""]);
  const users = pagedTable("ListUsers", { CollectionId: id }, "Users", ["UserId", "Status"],
    (user) => [user.UserId, user.UserStatus]);
  await Promise.all([faces.ready, users.ready]);
  main.replaceChildren(h("h2", null, `Collection ${id}`), h("h3", null, "Faces"), faces.section, h("h3", null, "Users"), users.section);
}

// A <select> of the collections (first option: none), for pages that search one.
export async function collectionSelect(name) {
  const ids = await callAll("ListCollections", {}, "CollectionIds");
  return h("select", { name }, h("option", { value: "" }, "(no collection)"), ids.map((id) => h("option", { value: id }, id)));
}

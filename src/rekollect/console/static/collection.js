// #/collection/<id>[/faces|/users|/user/<UserId>|/add]: one collection, its totals (DescribeCollection), and
// - faces: a picture grid, a page at a time (ListFaces with NextToken), filtered by user (ListFaces UserId)
//   or by ExternalImageId (every page read, matched here: the API has no such filter); selected faces
//   deleted (DeleteFaces), removed from their user (DisassociateFaces) or added to one (AssociateFaces);
// - users: a picture grid (ListUsers; each user's picture from GetFaceCrops), users created (CreateUser),
//   renamed (CreateUser, DeleteUser, AssociateFaces), merged into another (DeleteUser, AssociateFaces) or
//   deleted (DeleteUser);
// - user/<UserId>: one user's faces (ListFaces UserId), removable from it;
// - add: photos dropped or chosen, indexed (upload.js).
import { call, callAll } from "./api.js";
import { confirmButton } from "./collections.js";
import { button, errorBox, h, put } from "./dom.js";
import { Pictures } from "./pictures.js";
import { uploadTab } from "./upload.js";

const PAGE_SIZE = 24; // faces or users a page
const MAX_FACES_PER_USER = 100; // AWS quota: faces of a user, and FaceIds of one AssociateFaces call
const TABS = [["faces", "Faces"], ["users", "Users"], ["add", "Add photos"]];

const link = (id, ...rest) => `#/collection/${[id, ...rest].map(encodeURIComponent).join("/")}`;

export async function collectionPage(view, context) {
  const [id, tab = "faces", userId] = context.params;
  const described = await call("DescribeCollection", { CollectionId: id });
  const pictures = new Pictures(id);
  const totals = h("p", { id: "totals" }, totalsText(described));
  const refreshTotals = async () => {
    totals.textContent = totalsText(await call("DescribeCollection", { CollectionId: id }));
  };
  const body = h("div", { class: "tab-body" });
  put(view,
    h("h2", null, `Collection ${id}`), totals,
    h("nav", { class: "tabs", "aria-label": "Collection" }, TABS.map(([name, label]) =>
      h("a", { href: link(id, name), "aria-current": (tab === name || (tab === "user" && name === "users")) ? "page" : null }, label))),
    body);
  const shared = { id, pictures, refreshTotals, context };
  if (tab === "users") await usersTab(body, shared);
  else if (tab === "user") await userTab(body, shared, userId);
  else if (tab === "add") await uploadTab(body, shared);
  else await facesTab(body, shared);
}

function totalsText(described) {
  return `${described.FaceCount} face${described.FaceCount === 1 ? "" : "s"}, ${described.UserCount ?? 0} user${described.UserCount === 1 ? "" : "s"}, `
    + `face model ${described.FaceModelVersion}`;
}

// Pages of items: fetch(token) resolves to {items, next}; Previous/Next buttons and the page number.
class Pager {
  constructor(fetch, show) {
    this.fetch = fetch;
    this.show = show;
    this.tokens = [undefined];
    this.index = 0;
  }

  async open(index) {
    const { items, next } = await this.fetch(this.tokens[index]);
    this.index = index;
    this.tokens[index + 1] = next;
    const previous = button("Previous", () => this.open(index - 1), { disabled: index === 0 });
    const following = button("Next", () => this.open(index + 1), { disabled: !next });
    await this.show(items, h("div", { class: "pager" }, previous, h("span", { class: "page-number" }, ` page ${index + 1} `), following));
  }

  reload() {
    return this.open(this.index);
  }
}

// A face of the grid: picture, ExternalImageId, user, FaceId, and a checkbox to select it.
function faceCard(shared, face) {
  return h("figure", { class: "face-card", "data-face-id": face.FaceId },
    h("label", { class: "pick" }, h("input", { type: "checkbox", name: "face", value: face.FaceId }),
      shared.pictures.face(face.FaceId, face)),
    h("figcaption", null,
      h("div", { class: "external-image-id" }, face.ExternalImageId ?? "(no ExternalImageId)"),
      face.UserId ? h("a", { class: "user-badge", href: link(shared.id, "user", face.UserId) }, face.UserId) : null,
      h("code", { class: "face-id" }, face.FaceId.slice(0, 8))));
}

// The selected faces of `grid` ({FaceId, UserId} of their records).
function selected(grid, records) {
  return [...grid.querySelectorAll("input[name=face]:checked")].map((box) => records.get(box.value));
}

// What happened to faces an operation refused: "FaceId (REASON)" each.
const refusals = (items) => items.map((item) => `${item.FaceId.slice(0, 8)} (${item.Reasons.join(", ")})`).join("; ");

async function facesTab(body, shared) {
  const { id } = shared;
  const users = await callAll("ListUsers", { CollectionId: id }, "Users");
  const byUser = h("select", { name: "user-filter" }, h("option", { value: "" }, "(every face)"),
    users.map((user) => h("option", { value: user.UserId }, user.UserId)));
  const byImage = h("input", { name: "external-image-id-filter", type: "search", placeholder: "part of an ExternalImageId" });
  const target = h("select", { name: "target-user" }, h("option", { value: "" }, "(choose a user)"),
    users.map((user) => h("option", { value: user.UserId }, user.UserId)));
  const message = h("div", { class: "message" });
  const grid = h("div", { class: "face-grid", id: "faces" });
  const pagerBox = h("div");
  const notice = h("div");
  const records = new Map();
  const pager = new Pager(async (token) => {
    if (byImage.value) return filteredByImage(id, byUser.value, byImage.value, token);
    const page = await call("ListFaces", { CollectionId: id, MaxResults: PAGE_SIZE, NextToken: token, UserId: byUser.value || undefined });
    return { items: page.Faces, next: page.NextToken };
  }, async (faces, controls) => {
    await shared.pictures.loadFaces(faces.map((face) => face.FaceId));
    records.clear();
    for (const face of faces) records.set(face.FaceId, face);
    put(grid, ...(faces.length ? faces.map((face) => faceCard(shared, face)) : [h("p", { class: "empty" }, "No faces here.")]));
    put(pagerBox, controls);
    put(notice, shared.pictures.notice());
  });
  const act = (action) => async () => {
    const faces = selected(grid, records);
    if (!faces.length) {
      put(message, errorBox("Select faces first (their checkboxes)."));
      return;
    }
    try {
      put(message, h("p", { class: "done" }, await action(faces)));
      await Promise.all([pager.reload(), shared.refreshTotals()]);
    } catch (error) {
      put(message, errorBox(error));
    }
  };
  const deleteFaces = act(async (faces) => {
    const answer = await call("DeleteFaces", { CollectionId: id, FaceIds: faces.map((face) => face.FaceId) });
    const refused = answer.UnsuccessfulFaceDeletions;
    return `${answer.DeletedFaces.length} face(s) deleted.`
      + (refused.length ? ` Not deleted: ${refusals(refused)} (remove a face from its user first).` : "");
  });
  const disassociate = act(async (faces) => {
    const byOwner = Map.groupBy(faces.filter((face) => face.UserId), (face) => face.UserId);
    let removed = 0;
    for (const [user, owned] of byOwner) {
      const answer = await call("DisassociateFaces", { CollectionId: id, UserId: user, FaceIds: owned.map((face) => face.FaceId) });
      removed += answer.DisassociatedFaces.length;
    }
    return `${removed} face(s) removed from their user.`;
  });
  const associate = act(async (faces) => {
    if (!target.value) throw new Error("Choose the user to add the faces to.");
    const answer = await call("AssociateFaces", { CollectionId: id, UserId: target.value, FaceIds: faces.map((face) => face.FaceId) });
    const refused = answer.UnsuccessfulFaceAssociations;
    return `${answer.AssociatedFaces.length} face(s) added to ${target.value}.` + (refused.length ? ` Not added: ${refusals(refused)}.` : "");
  });
  const filter = async (event) => {
    event.preventDefault();
    pager.tokens = [undefined];
    await pager.open(0);
  };
  put(body,
    h("form", { class: "filters inline-form", onsubmit: filter },
      h("label", null, "User ", byUser), h("label", null, "ExternalImageId ", byImage), h("button", { type: "submit" }, "Filter")),
    notice,
    h("div", { class: "actions" }, "Selected faces: ",
      button("Delete", deleteFaces, { class: "danger" }), " ", button("Remove from their user", disassociate), " ",
      h("label", null, "Add to ", target), " ", button("Add", associate)),
    message, grid, pagerBox);
  byUser.addEventListener("change", filter);
  await pager.open(0);
}

// One page of faces whose ExternalImageId contains `text`: every page of ListFaces is read and matched
// here (the API filters by user or FaceIds only); `token` is the index of the first match of the page.
async function filteredByImage(id, userId, text, token) {
  const every = await callAll("ListFaces", { CollectionId: id, MaxResults: 1000, UserId: userId || undefined }, "Faces");
  const matched = every.filter((face) => (face.ExternalImageId ?? "").includes(text));
  const start = token ?? 0;
  return { items: matched.slice(start, start + PAGE_SIZE), next: start + PAGE_SIZE < matched.length ? start + PAGE_SIZE : undefined };
}

// Every face of a user (at most 100, AWS's quota).
const userFaces = (id, userId) => callAll("ListFaces", { CollectionId: id, UserId: userId, MaxResults: MAX_FACES_PER_USER }, "Faces");

// Renames a user: CreateUser with the new id, DeleteUser of the old one (which frees its faces), then
// AssociateFaces of those faces with the new one (the first association of a user takes every face).
async function renameUser(id, from, to) {
  const faces = await userFaces(id, from);
  await call("CreateUser", { CollectionId: id, UserId: to });
  await call("DeleteUser", { CollectionId: id, UserId: from });
  if (faces.length) await call("AssociateFaces", { CollectionId: id, UserId: to, FaceIds: faces.map((face) => face.FaceId) });
  return `User ${from} is now ${to} (${faces.length} face(s)).`;
}

// Merges user `from` into `into`: DeleteUser of `from`, then AssociateFaces of its faces with `into`
// (UserMatchThreshold 0: the person asked for the merge); refused before anything if `into` would pass 100 faces.
async function mergeUser(id, from, into) {
  const [faces, kept] = await Promise.all([userFaces(id, from), userFaces(id, into)]);
  if (faces.length + kept.length > MAX_FACES_PER_USER) {
    throw new Error(`${into} would have ${faces.length + kept.length} faces: a user holds at most ${MAX_FACES_PER_USER}.`);
  }
  await call("DeleteUser", { CollectionId: id, UserId: from });
  if (faces.length) {
    await call("AssociateFaces", { CollectionId: id, UserId: into, FaceIds: faces.map((face) => face.FaceId), UserMatchThreshold: 0 });
  }
  return `${from} merged into ${into} (${faces.length} face(s) moved).`;
}

// The rename, merge and delete controls of one user; `after(message)` runs once one succeeded.
function userControls(shared, user, others, message, after) {
  const { id } = shared;
  const newName = h("input", { name: "new-user-id", required: true, pattern: "[a-zA-Z0-9_.\\-:]+", maxlength: 128, value: user.UserId });
  const into = h("select", { name: "merge-into" }, h("option", { value: "" }, "(choose a user)"),
    others.map((other) => h("option", { value: other.UserId }, other.UserId)));
  const run = (action) => async (event) => {
    event?.preventDefault();
    try {
      await after(await action());
    } catch (error) {
      put(message, errorBox(error));
    }
  };
  return h("div", { class: "user-controls" },
    h("form", { class: "rename-user inline-form", onsubmit: run(() => renameUser(id, user.UserId, newName.value)) },
      h("label", null, "Rename to ", newName), h("button", { type: "submit" }, "Rename")),
    h("form", { class: "merge-user inline-form", onsubmit: run(() => {
      if (!into.value) throw new Error("Choose the user to merge into.");
      return mergeUser(id, user.UserId, into.value);
    }) }, h("label", null, "Merge into ", into), h("button", { type: "submit" }, "Merge")),
    confirmButton("Delete user", `Delete user ${user.UserId}? Its faces stay, without a user.`,
      run(async () => {
        await call("DeleteUser", { CollectionId: id, UserId: user.UserId });
        return `User ${user.UserId} deleted.`;
      }), message));
}

async function usersTab(body, shared) {
  const { id } = shared;
  const message = h("div", { class: "message" });
  const grid = h("div", { class: "face-grid", id: "users" });
  const pagerBox = h("div");
  const notice = h("div");
  const everyone = await callAll("ListUsers", { CollectionId: id }, "Users");
  const pager = new Pager(async (token) => {
    const page = await call("ListUsers", { CollectionId: id, MaxResults: PAGE_SIZE, NextToken: token });
    return { items: page.Users, next: page.NextToken };
  }, async (users, controls) => {
    const counts = await Promise.all(users.map((user) => userFaces(id, user.UserId).then((faces) => faces.length)));
    await shared.pictures.loadUsers(users.filter((user) => user.UserStatus === "ACTIVE").map((user) => user.UserId));
    put(grid, ...(users.length ? users.map((user, i) => h("figure", { class: "face-card user-card", "data-user-id": user.UserId },
      h("a", { href: link(id, "user", user.UserId) }, shared.pictures.user(user.UserId)),
      h("figcaption", null, h("a", { class: "user-id", href: link(id, "user", user.UserId) }, user.UserId),
        h("div", { class: "user-status" }, `${user.UserStatus}, ${counts[i]} face${counts[i] === 1 ? "" : "s"}`),
        userControls(shared, user, everyone.filter((other) => other.UserId !== user.UserId), message, async (done) => {
          await Promise.all([usersTab(body, shared), shared.refreshTotals()]);
          put(body.querySelector(".message"), h("p", { class: "done" }, done));
        }))))
      : [h("p", { class: "empty" }, "No users yet: make them on the People page, or create one here and add faces to it.")]));
    put(pagerBox, controls);
    put(notice, shared.pictures.notice());
  });
  const newUser = h("input", { name: "user-id", required: true, pattern: "[a-zA-Z0-9_.\\-:]+", maxlength: 128 });
  async function create(event) {
    event.preventDefault();
    try {
      await call("CreateUser", { CollectionId: id, UserId: newUser.value });
      const done = `User ${newUser.value} created: add faces to it on the Faces tab.`;
      await Promise.all([usersTab(body, shared), shared.refreshTotals()]);
      put(body.querySelector(".message"), h("p", { class: "done" }, done));
    } catch (error) {
      put(message, errorBox(error));
    }
  }
  put(body,
    h("form", { id: "create-user", class: "inline-form", onsubmit: create }, h("label", null, "New user ", newUser),
      h("button", { type: "submit" }, "Create user")),
    notice, message, grid, pagerBox);
  await pager.open(0);
}

async function userTab(body, shared, userId) {
  const { id } = shared;
  const message = h("div", { class: "message" });
  const [faces, everyone] = await Promise.all([userFaces(id, userId), callAll("ListUsers", { CollectionId: id }, "Users")]);
  const user = everyone.find((item) => item.UserId === userId);
  if (!user) throw new Error(`The user id: ${userId} does not exist in collection ${id}`);
  await shared.pictures.loadFaces(faces.map((face) => face.FaceId));
  const records = new Map(faces.map((face) => [face.FaceId, face]));
  const grid = h("div", { class: "face-grid", id: "faces" }, faces.map((face) => faceCard(shared, face)));
  const remove = async () => {
    const chosen = selected(grid, records);
    if (!chosen.length) {
      put(message, errorBox("Select faces first (their checkboxes)."));
      return;
    }
    try {
      const answer = await call("DisassociateFaces", { CollectionId: id, UserId: userId, FaceIds: chosen.map((face) => face.FaceId) });
      await userTab(body, shared, userId);
      put(body.querySelector(".message"), h("p", { class: "done" }, `${answer.DisassociatedFaces.length} face(s) removed from ${userId}.`));
    } catch (error) {
      put(message, errorBox(error));
    }
  };
  put(body,
    h("h3", null, `User ${userId}: ${user.UserStatus}, ${faces.length} face${faces.length === 1 ? "" : "s"}`),
    userControls(shared, user, everyone.filter((other) => other.UserId !== userId), message, async () => {
      location.hash = link(id, "users");
    }),
    h("div", { class: "notice-holder" }, shared.pictures.notice()),
    h("div", { class: "actions" }, "Selected faces: ", button("Remove from this user", remove)),
    message, grid);
}

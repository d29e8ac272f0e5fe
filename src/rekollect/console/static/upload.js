// The "Add photos" tab of a collection: photos or whole folders dropped (or chosen) are indexed
// (IndexFaces, two at a time), each with an ExternalImageId made from its file or folder name as
// `rekollect index` makes it; a progress bar, the photos in which no face was indexed, and the
// failures. With "recognise known people", each new face then joins the user it matches (SearchUsers by
// FaceId, then AssociateFaces at the same UserMatchThreshold, AssociateFaces' own rule; as
// `rekollect index --associate-users`), and what was done is listed.
import { call, explain, fittedId, imageBytes } from "./api.js";
import { add, errorBox, h, progress, put, table } from "./dom.js";
import { photosPicker } from "./photo.js";

const IN_FLIGHT = 2;
const DEFAULT_USER_MATCH_THRESHOLD = 75; // AssociateFaces' default

// The ExternalImageId of a photo at `path` ("folder/name.jpg"): its file name, its folder's name, or none.
function externalImageId(path, mode) {
  const parts = path.split("/");
  if (mode === "none") return null;
  return fittedId(mode === "folder" && parts.length > 1 ? parts[parts.length - 2] : parts[parts.length - 1]);
}

// Associates each of `faceIds` with the user it matches; [{faceId, userId, similarity, outcome}].
async function recognise(collectionId, faceIds, threshold) {
  const done = [];
  for (const faceId of faceIds) {
    const { UserMatches: matches } = await call("SearchUsers", { CollectionId: collectionId, FaceId: faceId, UserMatchThreshold: threshold, MaxUsers: 1 });
    if (!matches.length) continue;
    const userId = matches[0].User.UserId, similarity = matches[0].Similarity;
    try {
      const answer = await call("AssociateFaces", { CollectionId: collectionId, UserId: userId, FaceIds: [faceId], UserMatchThreshold: threshold });
      const refused = answer.UnsuccessfulFaceAssociations[0];
      const outcome = answer.AssociatedFaces.length ? "associated" : refused ? `refused (${refused.Reasons.join(", ")})` : "already associated";
      done.push({ faceId, userId, similarity, outcome });
    } catch (error) {
      if (error.type !== "ServiceQuotaExceededException") throw error;
      done.push({ faceId, userId, similarity, outcome: "refused (the user has its 100 faces)" });
    }
  }
  return done;
}

export async function uploadTab(body, shared) {
  const { id } = shared;
  const mode = h("select", { name: "external-image-id" },
    h("option", { value: "file" }, "the file name"), h("option", { value: "folder" }, "the folder's name (one folder per person)"),
    h("option", { value: "none" }, "none"));
  const known = h("input", { type: "checkbox", name: "associate-users" });
  const threshold = h("input", { type: "number", name: "user-match-threshold", min: 0, max: 100, step: "any", value: DEFAULT_USER_MATCH_THRESHOLD });
  const report = h("div", { id: "upload-report" });
  let running = false;

  async function index(chosen) {
    if (running) return;
    if (!chosen.length) {
      put(report, errorBox("No JPEG or PNG photo there."));
      return;
    }
    running = true;
    const totals = { done: 0, faces: 0, noFace: [], failed: [], associations: [] };
    const bar = h("div");
    const show = () => put(bar, progress(totals.done, chosen.length,
      `${totals.done} of ${chosen.length} photos, ${totals.faces} face(s) indexed, ${totals.noFace.length} without a face, ${totals.failed.length} failed`));
    put(report, bar);
    show();
    const queue = [...chosen];
    async function worker() {
      for (let item = queue.shift(); item; item = queue.shift()) {
        try {
          const request = { CollectionId: id, Image: { Bytes: await imageBytes(item.file) } };
          const external = externalImageId(item.path, mode.value);
          if (external) request.ExternalImageId = external;
          const answer = await call("IndexFaces", request);
          const faceIds = answer.FaceRecords.map((record) => record.Face.FaceId);
          totals.faces += faceIds.length;
          if (!faceIds.length) {
            totals.noFace.push([item.path, answer.UnindexedFaces.length ? `${answer.UnindexedFaces.length} face(s) not indexed (quality)` : "no face found"]);
          }
          if (known.checked && faceIds.length) {
            for (const done of await recognise(id, faceIds, Number(threshold.value))) totals.associations.push([item.path, done]);
          }
        } catch (error) {
          totals.failed.push([item.path, explain(error, item.path)]);
        }
        totals.done += 1;
        show();
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    running = false;
    await shared.refreshTotals();
    add(report,
      h("p", { class: "done", id: "upload-summary" }, `Done: ${chosen.length} photo(s), ${totals.faces} face(s) indexed.`),
      totals.noFace.length ? [h("h3", null, "Photos without a face indexed"), table(["Photo", "Why"], totals.noFace, { class: "no-face" })] : null,
      totals.associations.length ? [h("h3", null, "Known people recognised"), table(["Photo", "User", "Similarity", "Outcome"],
        totals.associations.map(([path, done]) => [path, done.userId, done.similarity, done.outcome]), { class: "associations" })] : null,
      totals.failed.length ? [h("h3", null, "Failed"), table(["Photo", "Error"], totals.failed, { class: "failures" })] : null,
      h("p", null, h("a", { href: `#/collection/${encodeURIComponent(id)}/faces` }, "See the faces"), " · ",
        h("a", { href: "#/people" }, "Find the people among them")));
  }

  put(body,
    h("p", null, "Each photo is sent to IndexFaces; its faces are stored with the ExternalImageId below."),
    h("div", { class: "inline-form" }, h("label", null, "ExternalImageId from ", mode)),
    h("div", { class: "inline-form" }, h("label", null, known, " Recognise known people: add each new face to the user it matches"),
      h("label", null, " at UserMatchThreshold ", threshold)),
    photosPicker(index),
    report);
}

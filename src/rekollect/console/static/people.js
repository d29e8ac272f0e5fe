// #/people: group a collection's faces by person (StartFaceClustering, a Rekollect extension), then, on
// #/people/<JobId>, the clusters (GetFaceClustering, every page) with their stored faces (ListFaces by
// FaceIds); each cluster can become a Rekognition user (CreateUser, AssociateFaces) or join one (AssociateFaces).
import { EXTENSIONS, call, callAll } from "./api.js";
import { collectionSelect } from "./collections.js";
import { h, s } from "./dom.js";

const POLL_MS = 1000;
const MAX_FACES_PER_USER = 100; // AWS quotas: faces of a user, and FaceIds of one AssociateFaces call
const FACE_ID_FILTER = 4096; // most FaceIds of one ListFaces call (its FaceIdList)

const show = (jobId) => { location.hash = `#/people/${encodeURIComponent(jobId)}`; };

// A number input left empty for the API's default; `member` names the request member it fills.
const numberInput = (member, min, max) => h("input", { type: "number", name: member, min, max, step: "any", placeholder: "API default" });

export async function peoplePage(main, [jobId]) {
  if (jobId) return jobPage(main, jobId);
  const collection = await collectionSelect("collection");
  collection.required = true;
  const numbers = [numberInput("FaceMatchThreshold", 0, 100), numberInput("MinClusterSize", 2, 1000)];
  const associated = h("input", { type: "checkbox", name: "IncludeAssociatedFaces" });
  const job = h("input", { name: "job", required: true });
  const message = h("p", { class: "search-error" });
  async function start(event) {
    event.preventDefault();
    const request = { CollectionId: collection.value, IncludeAssociatedFaces: associated.checked };
    for (const input of numbers) if (input.value !== "") request[input.name] = Number(input.value);
    try {
      show((await call("StartFaceClustering", request, EXTENSIONS)).JobId);
    } catch (error) {
      message.textContent = error.message;
    }
  }
  main.replaceChildren(
    h("h2", null, "People"),
    h("p", null, "Groups the faces of a collection by person, so that each group can become a Rekognition user."),
    h("form", { id: "start-clustering", onsubmit: start }, h("label", null, "Collection ", collection), " ",
      numbers.map((input) => [h("label", null, `${input.name} `, input), " "]),
      h("label", null, associated, " IncludeAssociatedFaces"), " ", h("button", { type: "submit" }, "Find people")),
    message,
    h("form", { onsubmit: (event) => { event.preventDefault(); show(job.value); } },
      h("label", null, "Or show the job ", job), " ", h("button", { type: "submit" }, "Show")));
}

// Polls GetFaceClustering until the job ends, then shows every cluster with its faces and actions.
async function jobPage(main, jobId) {
  const status = h("p", { id: "job-status" }, `Job ${jobId}: waiting…`);
  main.replaceChildren(h("h2", null, "People"), status);
  let job = await call("GetFaceClustering", { JobId: jobId, MaxResults: 1 }, EXTENSIONS);
  while (job.JobStatus === "IN_PROGRESS") {
    status.textContent = `Job ${jobId}: IN_PROGRESS, ${job.Progress.toFixed(0)} %`;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!main.contains(status)) return; // the user went to another page
    job = await call("GetFaceClustering", { JobId: jobId, MaxResults: 1 }, EXTENSIONS);
  }
  status.textContent = `Job ${jobId}: ${job.JobStatus}${job.StatusMessage ? ` (${job.StatusMessage})` : ""}`;
  if (job.JobStatus !== "SUCCEEDED") return;
  const collectionId = job.CollectionId;
  const clusters = await callAll("GetFaceClustering", { JobId: jobId }, "Clusters", EXTENSIONS);
  const faces = await storedFaces(collectionId, clusters.flatMap((cluster) => cluster.FaceIds));
  const users = new Users(collectionId);
  const sections = clusters.map((cluster) => clusterSection(collectionId, cluster, faces, users));
  await users.refresh();
  if (!main.contains(status)) return;
  main.append(
    h("p", { id: "job-summary" }, `${job.ClusterCount} people among ${job.FaceCount} faces of ${collectionId}, `
      + `${job.UnclusteredFaceCount} face(s) in no cluster (FaceMatchThreshold ${job.FaceMatchThreshold}, `
      + `MinClusterSize ${job.MinClusterSize}, IncludeAssociatedFaces ${job.IncludeAssociatedFaces}).`),
    h("p", null, "Rekognition keeps no images, so neither does Rekollect: each face below is its stored record, "
      + "its BoundingBox drawn in a square standing for the whole photo (whose size is not stored either)."),
    ...sections);
}

// The stored faces (ListFaces filtered by FaceIds) by FaceId.
async function storedFaces(collectionId, faceIds) {
  const faces = new Map();
  for (let i = 0; i < faceIds.length; i += FACE_ID_FILTER) {
    const found = await callAll("ListFaces", { CollectionId: collectionId, FaceIds: faceIds.slice(i, i + FACE_ID_FILTER) }, "Faces");
    for (const face of found) faces.set(face.FaceId, face);
  }
  return faces;
}

// The collection's users (ListUsers, every page) as the options of every "existing user" select.
class Users {
  constructor(collectionId) {
    this.collectionId = collectionId;
    this.selects = [];
  }

  // A new select, showing `suggested` (a UserId) until the user picks another.
  select(suggested) {
    const select = h("select", { name: "existing-user", required: true, "data-suggested": suggested });
    this.selects.push(select);
    return select;
  }

  // Reloads the users; resolves to them ({UserId, UserStatus}).
  async refresh() {
    const users = await callAll("ListUsers", { CollectionId: this.collectionId }, "Users");
    for (const select of this.selects) {
      const chosen = select.value;
      select.replaceChildren(h("option", { value: "" }, "(choose a user)"),
        ...users.map((user) => h("option", { value: user.UserId }, user.UserId)));
      select.value = chosen || select.dataset.suggested || "";
      if (select.selectedIndex < 0) select.selectedIndex = 0;
    }
    return users;
  }
}

// A face record: its BoundingBox (ratios of the photo) in a square frame, its ExternalImageId and FaceId.
function faceCard(faceId, face) {
  const box = face?.BoundingBox;
  return h("figure", { class: "face-record", "data-face-id": faceId },
    s("svg", { class: "frame", viewBox: "0 0 1 1", preserveAspectRatio: "none" },
      box && s("rect", { class: "face", x: box.Left, y: box.Top, width: box.Width, height: box.Height })),
    h("figcaption", null, h("div", { class: "external-image-id" }, face ? face.ExternalImageId ?? "(no ExternalImageId)" : "(deleted)"),
      h("code", null, faceId)));
}

// One cluster: size, Cohesion, SuggestedUserId, its faces, and the forms that make it a user or add it to one.
function clusterSection(collectionId, cluster, faces, users) {
  const size = cluster.FaceIds.length;
  const faceIds = cluster.FaceIds.slice(0, MAX_FACES_PER_USER); // the nearest the representative first
  const userId = h("input", { name: "user-id", value: `person-${cluster.ClusterId}`, required: true });
  const existing = users.select(cluster.SuggestedUserId);
  const result = h("p", { class: "cluster-result" });

  // AssociateFaces, then the user's status as ListUsers reports it and any faces that failed.
  async function associate(user) {
    const answer = await call("AssociateFaces", { CollectionId: collectionId, UserId: user, FaceIds: faceIds });
    const listed = (await users.refresh()).find((item) => item.UserId === user);
    const failed = answer.UnsuccessfulFaceAssociations.map((item) => `${item.FaceId} (${item.Reasons.join(", ")})`);
    return `User ${user}: ${listed?.UserStatus ?? answer.UserStatus}, ${answer.AssociatedFaces.length} face(s) associated.`
      + (failed.length ? ` Not associated: ${failed.join("; ")}.` : "");
  }
  const run = (action) => async (event) => {
    event.preventDefault();
    try {
      result.className = "cluster-result";
      result.textContent = await action();
    } catch (error) {
      result.className = "search-error";
      result.textContent = error.message;
    }
  };
  return h("section", { class: "cluster", "data-cluster-id": cluster.ClusterId },
    h("h3", null, `Cluster ${cluster.ClusterId}: ${size} face${size === 1 ? "" : "s"}`),
    h("p", { class: "cluster-facts" }, `Cohesion ${cluster.Cohesion.toFixed(1)}`,
      cluster.SuggestedUserId ? `, suggested user ${cluster.SuggestedUserId}` : "",
      size > MAX_FACES_PER_USER ? `. A user holds at most ${MAX_FACES_PER_USER} faces (AWS quota): only the `
        + `${MAX_FACES_PER_USER} nearest the cluster's representative will be associated.` : ""),
    h("div", { class: "faces" }, cluster.FaceIds.map((faceId) => faceCard(faceId, faces.get(faceId)))),
    h("form", { class: "create-user", onsubmit: run(async () => {
      await call("CreateUser", { CollectionId: collectionId, UserId: userId.value });
      return associate(userId.value);
    }) }, h("label", null, "UserId ", userId), " ", h("button", { type: "submit" }, "Create user from this cluster")),
    h("form", { class: "merge-user", onsubmit: run(() => associate(existing.value)) },
      h("label", null, "Existing user ", existing), " ", h("button", { type: "submit" }, "Merge into this user")),
    result);
}

// #/people: group a collection's faces by person (StartFaceClustering, a Rekollect extension) and the
// past clustering jobs (ListJobs, an extension); #/people/<JobId>: the clusters (GetFaceClustering, every
// page) with their faces' pictures (GetFaceCrops; their stored records from ListFaces by FaceIds). Each
// cluster can become a Rekognition user (CreateUser, AssociateFaces) or join one (AssociateFaces); its
// name defaults to its SuggestedUserId, else the ExternalImageId more than half of its faces carry, and
// a cluster whose faces all belong to one user is marked as that user's.
import { EXTENSIONS, call, callAll, fittedId } from "./api.js";
import { collectionSelect } from "./collections.js";
import { add, errorBox, h, progress, put, table } from "./dom.js";
import { Pictures } from "./pictures.js";

const POLL_MS = 1000;
const MAX_FACES_PER_USER = 100; // AWS quotas: faces of a user, and FaceIds of one AssociateFaces call
const FACE_ID_FILTER = 4096; // most FaceIds of one ListFaces call (its FaceIdList)
const SHOWN_FACES = 24; // faces shown per cluster

const show = (jobId) => { location.hash = `#/people/${encodeURIComponent(jobId)}`; };
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A number input left empty for the API's default; `member` names the request member it fills.
const numberInput = (member, min, max) => h("input", { type: "number", name: member, min, max, step: "any", placeholder: "API default" });

export async function peoplePage(view, context) {
  const [jobId] = context.params;
  if (jobId) return jobPage(view, context, jobId);
  const collection = await collectionSelect("collection", true);
  const numbers = [numberInput("FaceMatchThreshold", 0, 100), numberInput("MinClusterSize", 2, 1000)];
  const associated = h("input", { type: "checkbox", name: "IncludeAssociatedFaces" });
  const message = h("div", { class: "message" });
  const jobs = h("div", { id: "jobs" });
  async function start(event) {
    event.preventDefault();
    const request = { CollectionId: collection.value, IncludeAssociatedFaces: associated.checked };
    for (const input of numbers) if (input.value !== "") request[input.name] = Number(input.value);
    try {
      show((await call("StartFaceClustering", request, EXTENSIONS)).JobId);
    } catch (error) {
      put(message, errorBox(error));
    }
  }
  put(view,
    h("h2", null, "People"),
    h("p", null, "Groups the faces of a collection by person, so that each group can become a Rekognition user."),
    h("form", { id: "start-clustering", class: "inline-form", onsubmit: start }, h("label", null, "Collection ", collection),
      numbers.map((input) => h("label", null, `${input.name} `, input)),
      h("label", null, associated, " IncludeAssociatedFaces"), h("button", { type: "submit" }, "Find people")),
    message,
    h("h3", null, "Clustering jobs"),
    jobs);
  context.show();
  await listJobs(jobs, context);
}

// The clustering jobs (ListJobs, newest first), refreshed while any is in progress and the page is shown.
async function listJobs(holder, context) {
  for (;;) {
    const { Jobs: jobs } = await call("ListJobs", { JobType: "FACE_CLUSTERING" }, EXTENSIONS);
    if (!context.current()) return;
    put(holder, jobs.length ? table(["Job", "Status", "Progress", "Collection", "Started"], jobs.map((job) => [
      h("a", { href: `#/people/${encodeURIComponent(job.JobId)}`, class: "job-link" }, job.JobId.slice(0, 8)),
      h("span", { class: `status ${job.JobStatus.toLowerCase()}` }, job.JobStatus),
      progress(job.Progress, 100, `${job.Progress.toFixed(0)} %`),
      job.CollectionId ?? "",
      new Date(job.CreationTimestamp * 1000).toLocaleString(),
    ]), { class: "jobs" }) : h("p", { class: "empty" }, "No clustering jobs yet."));
    if (!jobs.some((job) => job.JobStatus === "IN_PROGRESS")) return;
    await wait(POLL_MS);
    if (!context.current()) return;
  }
}

// Polls GetFaceClustering until the job ends, then shows every cluster with its faces and actions.
async function jobPage(view, context, jobId) {
  const status = h("p", { id: "job-status" }, `Job ${jobId}: waiting…`);
  const bar = h("div");
  put(view, h("h2", null, "People"), h("p", null, h("a", { href: "#/people" }, "← every job")), status, bar);
  context.show();
  let job = await call("GetFaceClustering", { JobId: jobId, MaxResults: 1 }, EXTENSIONS);
  while (job.JobStatus === "IN_PROGRESS") {
    status.textContent = `Job ${jobId}: IN_PROGRESS`;
    put(bar, progress(job.Progress, 100, `${job.Progress.toFixed(0)} %`));
    await wait(POLL_MS);
    if (!context.current()) return;
    job = await call("GetFaceClustering", { JobId: jobId, MaxResults: 1 }, EXTENSIONS);
  }
  put(bar);
  status.textContent = `Job ${jobId}: ${job.JobStatus}${job.StatusMessage ? ` (${job.StatusMessage})` : ""}`;
  if (job.JobStatus !== "SUCCEEDED") return;
  const collectionId = job.CollectionId;
  const clusters = await callAll("GetFaceClustering", { JobId: jobId }, "Clusters", EXTENSIONS);
  const faces = await storedFaces(collectionId, clusters.flatMap((cluster) => cluster.FaceIds));
  const pictures = new Pictures(collectionId);
  await pictures.loadFaces(clusters.flatMap((cluster) => cluster.FaceIds.slice(0, SHOWN_FACES)));
  const users = new Users(collectionId);
  const sections = clusters.map((cluster) => clusterSection(collectionId, cluster, faces, users, pictures));
  await users.refresh();
  if (!context.current()) return;
  add(view,
    h("p", { id: "job-summary" }, `${job.ClusterCount} people among ${job.FaceCount} faces of ${collectionId}, `
      + `${job.UnclusteredFaceCount} face(s) in no cluster (FaceMatchThreshold ${job.FaceMatchThreshold}, `
      + `MinClusterSize ${job.MinClusterSize}, IncludeAssociatedFaces ${job.IncludeAssociatedFaces}).`),
    pictures.notice(),
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
      put(select, h("option", { value: "" }, "(choose a user)"),
        ...users.map((user) => h("option", { value: user.UserId }, user.UserId)));
      select.value = chosen || select.dataset.suggested || "";
      if (select.selectedIndex < 0) select.selectedIndex = 0;
    }
    return users;
  }
}

// The ExternalImageId more than half of `records` carry, or null.
function dominantImageId(records) {
  const counts = new Map();
  for (const record of records) counts.set(record.ExternalImageId, (counts.get(record.ExternalImageId) ?? 0) + 1);
  const [name, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [undefined, 0];
  return name && 2 * count > records.length ? name : null;
}

// "Accepted as X" when every stored face of the cluster belongs to user X; how many belong to whom otherwise.
function acceptance(records) {
  const owners = new Map();
  for (const record of records) if (record.UserId) owners.set(record.UserId, (owners.get(record.UserId) ?? 0) + 1);
  if (owners.size === 1 && [...owners.values()][0] === records.length) {
    return h("span", { class: "badge accepted" }, `Accepted: user ${[...owners.keys()][0]}`);
  }
  if (!owners.size) return h("span", { class: "badge open" }, "Not a user yet");
  return h("span", { class: "badge partial" }, [...owners].map(([user, count]) => `${count} of ${records.length} faces are ${user}'s`).join("; "));
}

// A face of a cluster: its picture, ExternalImageId and FaceId.
function faceCard(faceId, face, pictures) {
  return h("figure", { class: "face-record", "data-face-id": faceId },
    pictures.face(faceId, face),
    h("figcaption", null, h("div", { class: "external-image-id" }, face ? face.ExternalImageId ?? "(no ExternalImageId)" : "(deleted)"),
      h("code", null, faceId.slice(0, 8))));
}

// One cluster: size, Cohesion, SuggestedUserId, whether it is a user's, its faces, and the forms that make it a user or add it to one.
function clusterSection(collectionId, cluster, faces, users, pictures) {
  const size = cluster.FaceIds.length;
  const faceIds = cluster.FaceIds.slice(0, MAX_FACES_PER_USER); // the nearest the representative first
  const records = cluster.FaceIds.map((faceId) => faces.get(faceId)).filter(Boolean);
  const fallback = `person-${cluster.ClusterId}`;
  const named = cluster.SuggestedUserId ?? fittedId(dominantImageId(records) ?? "", 128) ?? fallback;
  const userId = h("input", { name: "user-id", value: named, required: true, pattern: "[a-zA-Z0-9_.\\-:]+", maxlength: 128 });
  const existing = users.select(cluster.SuggestedUserId);
  const result = h("p", { class: "cluster-result" });
  const state = h("span", { class: "cluster-state" }, acceptance(records));

  // AssociateFaces, then the user's status as ListUsers reports it and any faces that failed.
  async function associate(user) {
    const answer = await call("AssociateFaces", { CollectionId: collectionId, UserId: user, FaceIds: faceIds });
    const listed = (await users.refresh()).find((item) => item.UserId === user);
    put(state, acceptance([...(await storedFaces(collectionId, cluster.FaceIds)).values()]));
    const failed = answer.UnsuccessfulFaceAssociations.map((item) => `${item.FaceId} (${item.Reasons.join(", ")})`);
    return `User ${user}: ${listed?.UserStatus ?? answer.UserStatus}, ${answer.AssociatedFaces.length} face(s) associated.`
      + (failed.length ? ` Not associated: ${failed.join("; ")}.` : "");
  }
  const run = (action) => async (event) => {
    event.preventDefault();
    try {
      put(result, await action());
      result.className = "cluster-result";
    } catch (error) {
      put(result, errorBox(error));
    }
  };
  return h("section", { class: "cluster", "data-cluster-id": cluster.ClusterId },
    h("h3", null, `Cluster ${cluster.ClusterId}: ${size} face${size === 1 ? "" : "s"} `, state),
    h("p", { class: "cluster-facts" }, `Cohesion ${cluster.Cohesion.toFixed(1)}`,
      cluster.SuggestedUserId ? `, suggested user ${cluster.SuggestedUserId}` : "",
      size > MAX_FACES_PER_USER ? `. A user holds at most ${MAX_FACES_PER_USER} faces (AWS quota): only the `
        + `${MAX_FACES_PER_USER} nearest the cluster's representative will be associated.` : ""),
    h("div", { class: "faces" }, cluster.FaceIds.slice(0, SHOWN_FACES).map((faceId) => faceCard(faceId, faces.get(faceId), pictures)),
      size > SHOWN_FACES ? h("p", { class: "more" }, `and ${size - SHOWN_FACES} more`) : null),
    h("form", { class: "create-user inline-form", onsubmit: run(async () => {
      await call("CreateUser", { CollectionId: collectionId, UserId: userId.value });
      return associate(userId.value);
    }) }, h("label", null, "UserId ", userId), h("button", { type: "submit" }, "Create user from this cluster")),
    h("form", { class: "merge-user inline-form", onsubmit: run(() => associate(existing.value)) },
      h("label", null, "Existing user ", existing), h("button", { type: "submit" }, "Merge into this user")),
    result);
}
